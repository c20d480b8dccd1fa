// raftcheck trace viewer: draws each frame of a replayed trace as SVG, the
// way the classic Raft animation does, from the JSON that traces.WriteHTML
// embeds in the page. User text only ever reaches the DOM as text nodes.
(function () {
  'use strict';

  var NS = 'http://www.w3.org/2000/svg';
  var ABBR = ['?', 'RV', 'RVR', 'AE', 'AER'];
  var TYPES = { RequestVote: 1, RequestVoteResponse: 2, AppendEntries: 3, AppendEntriesResponse: 4 };
  var REGION_COLOURS = ['#ffcdd2', '#c8e6c9', '#bbdefb', '#ffe0b2', '#d1c4e9', '#b2ebf2', '#f0f4c3'];

  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message)); });

  var data = JSON.parse(document.getElementById('trace-data').textContent);
  var frames = data.frames;
  var hasImpl = frames.some(function (f) { return !!f.impl; });
  var params = parseHash();
  var animate = (!params.selftest || params.animate) && !(window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches);
  var cur = -1;
  var timer = null;

  var $ = function (id) { return document.getElementById(id); };
  var pictures = $('pictures');
  var scrub = $('scrub');

  // parseHash reads "#step=K" (open at step K), "#selftest" and "animate"
  // (keep the animations during the self-test) from the URL, e.g.
  // "#selftest&animate&step=3".
  function parseHash() {
    var p = { selftest: false, animate: false, step: null };
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      var i = kv.indexOf('=');
      var k = i < 0 ? kv : kv.slice(0, i), v = i < 0 ? '' : kv.slice(i + 1);
      if (k === 'selftest') p.selftest = true;
      if (k === 'animate') p.animate = true;
      if (k === 'step' && /^\d+$/.test(v)) p.step = parseInt(v, 10);
    });
    return p;
  }

  // indexOfStep finds the frame whose step number is k, or clamps k.
  function indexOfStep(k) {
    for (var i = 0; i < frames.length; i++) if (frames[i].step === k) return i;
    return Math.max(0, Math.min(frames.length - 1, k));
  }

  function svg(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function svgText(parent, x, y, s, cls) {
    var t = svg('text', { x: x, y: y, 'class': cls }, parent);
    t.textContent = s;
    return t;
  }
  function tip(parent, s) { svg('title', {}, parent).textContent = s; }
  function html(tag, cls, parent, s) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (s !== undefined) e.textContent = s;
    if (parent) parent.appendChild(e);
    return e;
  }
  function short(s, n) { return s.length > n ? s.slice(0, Math.max(1, n - 1)) + '\u2026' : s; }

  // layout places the ring and the log table: side by side in one wide
  // picture, or stacked when two pictures share the width.
  // The ring is shifted to just fit its nodes and their labels (two lines,
  // three with the divergence line of a side-by-side view).
  function layout(n, dual) {
    var L = dual
      ? { W: 600, cx: 300, R: 122, logX: 24, logW: 556 }
      : { W: 960, cx: 225, R: 125, logX: 460, logY: 60, logW: 480 };
    L.r = n > 5 ? 26 : 30;
    if (n <= 1) L.R = 0;
    L.rowH = 28;
    L.lines = dual ? 3 : 2;
    var top = Infinity, bottom = -Infinity, pos = [];
    for (var i = 0; i < n; i++) {
      var a = -Math.PI / 2 + 2 * Math.PI * i / n;
      var p = { x: L.cx + L.R * Math.cos(a), y: L.R * Math.sin(a), i: i };
      var above = L.R > 0 && p.y < -1;
      top = Math.min(top, above ? p.y - L.r - 20 - (L.lines - 1) * 14 : p.y - L.r - 8);
      bottom = Math.max(bottom, above ? p.y + L.r + 8 : p.y + L.r + 19 + (L.lines - 1) * 14);
      pos.push(p);
    }
    var shift = 14 - top;
    L.cy = shift;
    L.pos = {};
    pos.forEach(function (p) { p.y += shift; L.pos[p.i + 1] = p; });
    var ringBottom = bottom + shift + 6;
    if (dual) L.logY = ringBottom + 22;
    var logBottom = L.logY + 18 + n * L.rowH + 8;
    L.H = Math.max(ringBottom, logBottom);
    return L;
  }

  function groupOf(partition) {
    var g = {};
    (partition || []).forEach(function (members, gi) { members.forEach(function (id) { g[id] = gi; }); });
    return g;
  }

  // sid accepts a server id as a number or as its name ("S2").
  function sid(x) { return typeof x === 'number' ? x : (parseInt(String(x).replace(/^S/, ''), 10) || 0); }

  // msgType accepts a message type by number or by name.
  function msgType(t) { return typeof t === 'number' ? t : (TYPES[t] || 0); }

  function msgLabel(m) {
    var ty = msgType(m.type);
    var s = ABBR[ty] || '?';
    s += ' t' + m.term;
    if (ty === 1) s += ' ' + (m.last_log_index || 0) + '/' + (m.last_log_term || 0);
    if (ty === 2) s += m.granted ? ' \u2713' : ' \u2717';
    if (ty === 3) {
      var es = (m.entries || []).map(function (e) { return e.term + ':' + e.value; });
      s += es.length ? ' [' + short(es.join(' '), 18) + ']' : ' \u2661';
      if (m.leader_commit) s += ' c' + m.leader_commit;
    }
    if (ty === 4) s += m.success ? ' \u2713' + (m.match_index || 0) : ' \u2717';
    return s;
  }

  // messagePlaces puts the messages of one sender->receiver pair in a row
  // on the sender's half of their line, so that the two directions do not
  // meet, with their labels on the side away from the ring's centre, where
  // the lines do not cross.
  function messagePlaces(network, L) {
    var key = function (m) { return sid(m.from) + '>' + sid(m.to); };
    var counts = {}, seen = {};
    network.forEach(function (f) { var k = key(f.message); counts[k] = (counts[k] || 0) + 1; });
    return network.map(function (f) {
      var m = f.message, k = key(m);
      var a = L.pos[sid(m.from)], b = L.pos[sid(m.to)];
      if (!a || !b) return null;
      var c = counts[k], i = seen[k] = (seen[k] || 0) + 1;
      var t = c === 1 ? 0.36 : 0.24 + (i - 1) * 0.24 / (c - 1);
      var dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
      var ux = dx / len, uy = dy / len, nx = -uy, ny = ux;
      var ox = (a.x + b.x) / 2 - L.cx, oy = (a.y + b.y) / 2 - L.cy, olen = Math.hypot(ox, oy);
      var lx = olen > 10 ? ox / olen : nx, ly = olen > 10 ? oy / olen : ny;
      return { x: a.x + dx * t + nx * 4, y: a.y + dy * t + ny * 4, ux: ux, uy: uy, lx: lx, ly: ly, from: a, to: b };
    });
  }

  function drawPartition(g, partition, L, n) {
    if (!partition || partition.length < 2) return;
    var width = 2 * (L.r + 16);
    partition.forEach(function (members, gi) {
      var pts = members.map(function (id) { return L.pos[id]; }).filter(Boolean)
        .sort(function (p, q) { return p.i - q.i; });
      var colour = REGION_COLOURS[gi % REGION_COLOURS.length];
      var common = { 'class': 'partition-region', 'data-group': gi, fill: colour, stroke: colour, 'stroke-width': width, 'stroke-linejoin': 'round', 'stroke-linecap': 'round' };
      var shape;
      if (pts.length === 1) {
        shape = svg('circle', { cx: pts[0].x, cy: pts[0].y, r: L.r + 16, 'class': common['class'], 'data-group': gi, fill: colour }, g);
      } else if (pts.length === 2) {
        common.fill = 'none';
        common.x1 = pts[0].x; common.y1 = pts[0].y; common.x2 = pts[1].x; common.y2 = pts[1].y;
        shape = svg('line', common, g);
      } else {
        common.points = pts.map(function (p) { return p.x + ',' + p.y; }).join(' ');
        shape = svg('polygon', common, g);
      }
      tip(shape, 'partition group {' + members.map(function (id) { return 'S' + id; }).join(',') + '}');
    });
    // Two groups that each hold a contiguous arc of the ring are split by a
    // straight cut, as in the classic animation.
    var gof = groupOf(partition);
    var cuts = 0;
    for (var i = 1; i <= n; i++) if (gof[i] !== gof[i % n + 1]) cuts++;
    if (partition.length === 2 && cuts === 2 && n >= 2) {
      var cen = [0, 1].map(function (gi) {
        var ps = partition[gi].map(function (id) { return L.pos[id]; });
        return { x: ps.reduce(function (s, p) { return s + p.x; }, 0) / ps.length, y: ps.reduce(function (s, p) { return s + p.y; }, 0) / ps.length };
      });
      var dx = cen[1].x - cen[0].x, dy = cen[1].y - cen[0].y, len = Math.hypot(dx, dy) || 1;
      var mx = (cen[0].x + cen[1].x) / 2, my = (cen[0].y + cen[1].y) / 2;
      var lx = -dy / len, ly = dx / len, ext = L.R + L.r + 10;
      svg('line', { 'class': 'partition-line', x1: mx - lx * ext, y1: my - ly * ext, x2: mx + lx * ext, y2: my + ly * ext }, g);
    }
  }

  function drawServer(g, v, L, notes, i, before) {
    var id = sid(v.id), voted = sid(v.voted_for);
    var p = L.pos[id], role = notes.roles[i], note = notes.servers[i];
    var divergent = notes.divergent && notes.divergent[i];
    var s = svg('g', { 'class': 'server' + (divergent && divergent.length ? ' divergent' : ''), 'data-server': id, 'data-role': role, 'data-term': v.term, 'data-voted': voted }, g);
    tip(s, note || '');
    svg('circle', { 'class': 'halo', cx: p.x, cy: p.y, r: L.r + 7 }, s);
    var node = svg('circle', { 'class': 'node ' + role, cx: p.x, cy: p.y, r: L.r }, s);
    svgText(s, p.x, p.y - 5, 'S' + id, 'name');
    svgText(s, p.x, p.y + 14, 'term ' + v.term, 'term');
    var lines = [role];
    if (role === 'candidate') lines.push('votes ' + notes.votes[i].length + '/' + (Math.floor(L.n / 2) + 1));
    else lines.push(voted ? 'voted S' + voted : 'no vote');
    if (divergent && divergent.length) lines.push('\u2260 ' + divergent.join(', '));
    // Labels go on the outside of the ring so they stay clear of messages.
    var above = L.R > 0 && p.y < L.cy - 1;
    lines.forEach(function (line, k) {
      var y = above ? p.y - L.r - 8 - (lines.length - 1 - k) * 14 : p.y + L.r + 15 + k * 14;
      svgText(s, p.x, y, line, 'sub' + (k === 2 ? ' diverge-text' : ''));
    });
    if (animate && before && (before.role !== v.role || before.term !== v.term)) {
      node.style.transformOrigin = p.x + 'px ' + p.y + 'px';
      node.animate([{ transform: 'scale(1.25)' }, { transform: 'scale(1)' }], { duration: 450, easing: 'ease-out' });
    }
  }

  function drawMessages(g, state, notes, L, before, beforeNotes) {
    var network = state.network || [];
    var places = messagePlaces(network, L);
    var gof = groupOf(notes.groups);
    var old = {};
    if (before) (before.network || []).forEach(function (f, j) { old[beforeNotes.messages[j]] = f.count; });
    network.forEach(function (f, j) {
      var m = f.message, p = places[j];
      if (!p) return;
      var ty = msgType(m.type), abbr = ABBR[ty] || 'msg';
      var blocked = !!notes.groups && gof[sid(m.from)] !== gof[sid(m.to)];
      var odd = notes.odd_messages && notes.odd_messages[j];
      var mg = svg('g', { 'class': 'message ' + abbr + (blocked ? ' blocked' : '') + (odd ? ' odd' : ''), 'data-from': sid(m.from), 'data-to': sid(m.to), 'data-type': abbr, 'data-count': f.count }, g);
      tip(mg, notes.messages[j] + (f.count > 1 ? ' \u00d7' + f.count : '') + (blocked ? ' (blocked by the partition)' : ''));
      svg('line', { 'class': 'shaft', x1: p.x - p.ux * 12, y1: p.y - p.uy * 12, x2: p.x + p.ux * 12, y2: p.y + p.uy * 12, 'marker-end': 'url(#' + L.id + '-arrow-' + (ty <= 2 ? 'rv' : 'ae') + ')' }, mg);
      if (f.count > 1) svg('circle', { 'class': 'dot', cx: p.x + 4, cy: p.y - 4, r: 7 }, mg);
      svg('circle', { 'class': 'dot', cx: p.x, cy: p.y, r: 7 }, mg);
      var label = msgLabel(m) + (f.count > 1 ? ' \u00d7' + f.count : '');
      var t = svgText(mg, p.x + p.lx * 13, p.y + p.ly * 13 + 4 + (Math.abs(p.lx) < 0.3 ? p.ly * 6 : 0), label, 'label');
      t.setAttribute('text-anchor', Math.abs(p.lx) < 0.3 ? 'middle' : (p.lx > 0 ? 'start' : 'end'));
      // A message that was not in flight before leaves its sender.
      if (animate && before && (old[notes.messages[j]] || 0) < f.count) {
        mg.animate([{ transform: 'translate(' + (p.from.x - p.x) + 'px,' + (p.from.y - p.y) + 'px)', opacity: 0.2 },
          { transform: 'translate(0px,0px)', opacity: 1 }], { duration: 500, easing: 'ease-out' });
      }
    });
  }

  // drawDelivery shows the step's delivered (or dropped) message arriving
  // at its receiver (or vanishing); the element removes itself.
  function drawDelivery(g, action, kind, L) {
    var m = action.message;
    if (!m || (kind !== 'Deliver' && kind !== 'Drop')) return;
    var a = L.pos[sid(m.from)], b = L.pos[sid(m.to)];
    if (!a || !b) return;
    var ghost = svg('g', { 'class': 'ghost ' + (ABBR[msgType(m.type)] || '') }, g);
    var mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2;
    svg('circle', { 'class': 'dot', cx: mx, cy: my, r: 7 }, ghost);
    var keyframes = kind === 'Deliver'
      ? [{ transform: 'translate(0px,0px)', opacity: 1 }, { transform: 'translate(' + (b.x - mx) * 0.8 + 'px,' + (b.y - my) * 0.8 + 'px)', opacity: 0 }]
      : [{ opacity: 1 }, { opacity: 0 }];
    var an = ghost.animate(keyframes, { duration: 500, easing: 'ease-in', fill: 'forwards' });
    an.onfinish = function () { ghost.remove(); };
  }

  function drawLogs(g, state, notes, L) {
    var servers = state.servers || [];
    var maxLen = servers.reduce(function (mx, v) { return Math.max(mx, (v.log || []).length); }, 0);
    var x0 = L.logX + 40;
    var bw = Math.min(66, (L.logW - 40 - 64) / Math.max(1, maxLen));
    svgText(g, L.logX, L.logY - 4, 'logs', 'logtitle');
    for (var k = 1; k <= maxLen; k++) {
      if (bw >= 14 || k % 5 === 0 || k === 1) svgText(g, x0 + (k - 0.5) * bw, L.logY + 10, String(k), 'loghead');
    }
    servers.forEach(function (v, i) {
      var y = L.logY + 18 + i * L.rowH, log = v.log || [];
      var div = notes.divergent && notes.divergent[i] && notes.divergent[i].indexOf('log') >= 0;
      var divCommit = notes.divergent && notes.divergent[i] && notes.divergent[i].indexOf('commit_index') >= 0;
      var row = svg('g', { 'class': 'logrow' + (div || divCommit ? ' divergent' : ''), 'data-server': sid(v.id), 'data-commit': v.commit_index }, g);
      svg('rect', { 'class': 'rowbg', x: L.logX - 4, y: y - 2, width: L.logW, height: L.rowH - 2, rx: 4 }, row);
      svg('circle', { 'class': 'node ' + notes.roles[i], cx: L.logX + 6, cy: y + 12, r: 5, 'stroke-width': 1.5 }, row);
      svgText(row, L.logX + 15, y + 12, 'S' + sid(v.id), 'rowname');
      log.forEach(function (e, j) {
        var committed = j + 1 <= v.commit_index;
        var eg = svg('g', { 'class': 'entry' + (committed ? ' committed' : ''), 'data-index': j + 1, 'data-term': e.term }, row);
        tip(eg, 'S' + sid(v.id) + ' [' + (j + 1) + '] term ' + e.term + ' value ' + JSON.stringify(e.value) + (committed ? ' (committed)' : ' (not committed)'));
        svg('rect', { 'class': 'box' + (committed ? ' committed' : ''), x: x0 + j * bw + 1.5, y: y, width: bw - 3, height: L.rowH - 6, rx: 3 }, eg);
        // A box too narrow for its value shows the term, as the classic
        // animation does; the tooltip has the rest.
        var room = Math.floor((bw - 6) / 6.3), full = e.term + ':' + e.value;
        var label = full.length <= room ? full : room >= 7 ? short(full, room) : String(e.term);
        svgText(eg, x0 + (j + 0.5) * bw, y + (L.rowH - 6) / 2, label, '');
      });
      var tail = x0 + log.length * bw + 6;
      svgText(row, tail, y + 12, log.length ? 'commit ' + v.commit_index : 'empty log' + (v.commit_index ? ', commit ' + v.commit_index : ''), 'commit');
    });
  }

  function defs(s, id) {
    var d = svg('defs', {}, s);
    [['rv', '#f29e4c'], ['ae', '#4a7fd6']].forEach(function (c) {
      var mk = svg('marker', { id: id + '-arrow-' + c[0], viewBox: '0 0 10 10', refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: 'auto-start-reverse' }, d);
      svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: c[1] }, mk);
    });
  }

  // picture draws one cluster state; before/beforeNotes are the previous
  // frame's when stepping forward, to animate what changed.
  function picture(kind, state, notes, dual, before, beforeNotes, action, actionKind) {
    var servers = state.servers || [];
    var n = servers.length;
    var L = layout(n, dual);
    L.n = n; L.id = kind;
    var s = svg('svg', { 'class': 'picture', viewBox: '0 0 ' + L.W + ' ' + L.H, role: 'img', 'aria-label': kind + ' state' });
    defs(s, kind);
    drawPartition(svg('g', { 'class': 'partitions' }, s), notes.groups, L, n);
    var links = svg('g', { 'class': 'links' }, s);
    for (var i = 1; i <= n; i++) for (var j = i + 1; j <= n; j++) {
      svg('line', { 'class': 'link', x1: L.pos[i].x, y1: L.pos[i].y, x2: L.pos[j].x, y2: L.pos[j].y }, links);
    }
    var sg = svg('g', { 'class': 'servers' }, s);
    servers.forEach(function (v, i) {
      var prevView = before && before.servers && before.servers[i];
      drawServer(sg, v, L, notes, i, prevView);
    });
    var mg = svg('g', { 'class': 'messages' }, s);
    if ((state.network || []).length === 0) svgText(mg, L.cx, L.cy + 4, 'no messages in flight', 'empty-net').setAttribute('text-anchor', 'middle');
    drawMessages(mg, state, notes, L, before, beforeNotes);
    if (animate && before && action) drawDelivery(mg, action, actionKind, L);
    if (notes.groups && notes.groups.length) {
      svgText(s, dual ? 8 : L.logX, dual ? L.logY - 24 : 20, 'partition ' + notes.groups.map(function (gr) { return '{' + gr.map(function (id) { return 'S' + id; }).join(',') + '}'; }).join(' '), 'partition-label');
    }
    drawLogs(svg('g', { 'class': 'logs' }, s), state, notes, L);
    return s;
  }

  function panel(kind, title, state, notes, before, beforeNotes, action, actionKind) {
    var sec = html('section', 'panel', null);
    sec.id = 'panel-' + kind;
    sec.setAttribute('data-panel', kind);
    if (notes.divergent && notes.divergent.some(function (d) { return d && d.length; })) sec.classList.add('diverged');
    if (hasImpl) html('h2', '', sec, title);
    sec.appendChild(picture(kind, state, notes, hasImpl, before, beforeNotes, action, actionKind));
    var ul = html('ul', 'network', sec);
    (state.network || []).forEach(function (f, j) {
      var li = html('li', 'msg-item' + (notes.odd_messages && notes.odd_messages[j] ? ' odd' : ''), ul, notes.messages[j] + (f.count > 1 ? '  \u00d7' + f.count : ''));
      li.setAttribute('data-count', f.count);
    });
    return sec;
  }

  function list(ul, items) {
    ul.textContent = '';
    (items || []).forEach(function (s) { html('li', '', ul, s); });
  }

  function show(i) {
    i = Math.max(0, Math.min(frames.length - 1, i));
    var prev = cur;
    cur = i;
    var f = frames[i];
    var fwd = prev >= 0 && i === prev + 1 ? frames[prev] : null;
    pictures.textContent = '';
    pictures.className = hasImpl ? 'dual' : 'single';
    pictures.appendChild(panel('model', 'model', f.model, f.model_notes, fwd && fwd.model, fwd && fwd.model_notes, f.action, f.action_kind));
    if (hasImpl) {
      if (f.impl) {
        var fi = fwd && fwd.impl ? fwd : null;
        pictures.appendChild(panel('impl', 'implementation', f.impl, f.impl_notes, fi && fi.impl, fi && fi.impl_notes, f.action, f.action_kind));
      } else {
        var empty = html('section', 'panel empty', pictures, 'no implementation state at this step');
        empty.id = 'panel-impl-missing';
      }
    }
    $('step').textContent = 'step ' + f.step + ' / ' + frames[frames.length - 1].step;
    $('caption').textContent = f.caption || '';
    $('action').textContent = f.action_text;
    var v = $('violation');
    v.hidden = !f.violation;
    v.textContent = f.violation ? '\u2717 ' + f.violation + ' violated' + (f.message ? ': ' + f.message : '') : '';
    v.setAttribute('data-property', f.violation || '');
    var d = $('diff');
    d.hidden = !(f.diff && f.diff.length);
    $('diff-kind').textContent = 'model and implementation diverge' + (f.diff_kind ? ' (' + f.diff_kind + ')' : '') + ':';
    list($('diff-lines'), f.diff);
    $('failed').hidden = !(f.failed && f.failed.length);
    list($('failed-lines'), f.failed);
    $('first').disabled = $('prev').disabled = i === 0;
    $('next').disabled = $('last').disabled = i === frames.length - 1;
    scrub.max = frames.length - 1;
    scrub.value = i;
    if (!params.selftest) {
      try { history.replaceState(null, '', '#step=' + f.step); } catch (e) { /* file: URLs may refuse */ }
    }
  }

  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    $('play').textContent = '\u25B6 Play';
  }
  function play() {
    if (timer) return stop();
    if (cur === frames.length - 1) show(0);
    $('play').textContent = '\u275A\u275A Pause';
    timer = setInterval(function () {
      if (cur >= frames.length - 1) return stop();
      show(cur + 1);
    }, 1400);
  }

  $('first').addEventListener('click', function () { stop(); show(0); });
  $('prev').addEventListener('click', function () { stop(); show(cur - 1); });
  $('next').addEventListener('click', function () { stop(); show(cur + 1); });
  $('last').addEventListener('click', function () { stop(); show(frames.length - 1); });
  $('play').addEventListener('click', play);
  scrub.addEventListener('input', function () { stop(); show(parseInt(scrub.value, 10)); });
  document.addEventListener('keydown', function (e) {
    if (e.target === scrub || e.altKey || e.ctrlKey || e.metaKey) return;
    var to = { ArrowRight: cur + 1, ArrowLeft: cur - 1, Home: 0, End: frames.length - 1 }[e.key];
    if (to !== undefined) { e.preventDefault(); stop(); show(to); }
    if (e.key === ' ' && e.target.tagName !== 'BUTTON') { e.preventDefault(); play(); }
  });
  window.addEventListener('hashchange', function () {
    var p = parseHash();
    if (p.step !== null) show(indexOfStep(p.step));
  });

  show(params.step === null ? 0 : indexOfStep(params.step));
  if (params.selftest) selftest();

  // selftest steps through every frame with the same handlers a user
  // triggers (alternately the Next button and the right arrow key) and
  // records what the page shows, for the headless-browser test.
  function selftest() {
    var out = { frames: frames.length, steps: [], nav: {}, errors: errors };
    try {
      run(out);
    } catch (e) {
      errors.push(String(e && e.stack || e));
    }
    out.title = document.title;
    $('selftest').textContent = JSON.stringify(out);
  }
  function run(out) {
    out.initial = snapshot();
    click('first');
    for (var i = 0; i < frames.length; i++) {
      out.steps.push(snapshot());
      if (i < frames.length - 1) {
        if (i % 2 === 0) click('next'); else key('ArrowRight');
      }
    }
    click('next'); out.nav.pastEnd = cur;
    key('ArrowLeft'); out.nav.left = cur;
    click('prev'); out.nav.prev = cur;
    click('first'); out.nav.first = cur;
    click('prev'); out.nav.beforeFirst = cur;
    key('End'); out.nav.end = cur;
    key('Home'); out.nav.home = cur;
    click('last'); out.nav.last = cur;
    scrub.value = 1; scrub.dispatchEvent(new Event('input')); out.nav.scrub = cur;
  }
  function click(id) { $(id).dispatchEvent(new MouseEvent('click', { bubbles: true })); }
  function key(k) { document.body.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true })); }
  function hash(s) {
    var h = 5381;
    for (var i = 0; i < s.length; i++) h = (h * 33 + s.charCodeAt(i)) >>> 0;
    return h.toString(16);
  }
  function snapshot() {
    var panels = {};
    Array.prototype.forEach.call(pictures.querySelectorAll('section.panel[data-panel]'), function (sec) {
      var q = function (sel) { return sec.querySelectorAll(sel).length; };
      panels[sec.getAttribute('data-panel')] = {
        servers: Array.prototype.map.call(sec.querySelectorAll('.server[data-server]'), function (g) {
          return { id: +g.getAttribute('data-server'), role: g.getAttribute('data-role'), term: +g.getAttribute('data-term'), voted: +g.getAttribute('data-voted') };
        }),
        entries: q('.entry'), committed: q('.entry.committed'), messages: q('.message'), blocked: q('.message.blocked'),
        regions: q('.partition-region'), cut: q('.partition-line'), divergent: q('.server.divergent'), odd: q('.message.odd')
      };
    });
    var svgs = pictures.innerHTML;
    return {
      index: cur, step: $('step').textContent, caption: $('caption').textContent, action: $('action').textContent,
      violation: $('violation').hidden ? null : $('violation').textContent,
      failed: $('failed').hidden ? null : Array.prototype.map.call($('failed-lines').children, function (li) { return li.textContent; }),
      diff: $('diff').hidden ? null : Array.prototype.map.call($('diff-lines').children, function (li) { return li.textContent; }),
      implMissing: !!$('panel-impl-missing'), svgHash: hash(svgs), svgLength: svgs.length, panels: panels
    };
  }
})();
