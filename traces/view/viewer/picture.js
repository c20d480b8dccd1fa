// raftcheck cluster picture: draws one cluster state as SVG, the way the
// classic Raft animation does (servers in a ring with role, term and vote,
// logs, messages in flight labelled per link, the partition). The trace
// viewer (viewer.js) and the interactive explorer (traces/explorer) both
// draw with it; it defines the one global RaftPicture. User text only ever
// reaches the DOM as text nodes.
var RaftPicture = (function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var FONT = 'system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif';
  var ABBR = ['?', 'RV', 'RVR', 'AE', 'AER'];
  var TYPES = { RequestVote: 1, RequestVoteResponse: 2, AppendEntries: 3, AppendEntriesResponse: 4 };
  var REGION_COLOURS = ['#ffcdd2', '#c8e6c9', '#bbdefb', '#ffe0b2', '#d1c4e9', '#b2ebf2', '#f0f4c3'];
  var LABEL_H = 16; // height of a one-line label, in picture units
  var LINE_H = 13; // each further line of a label

  // dual and animate are the options of the picture being drawn (see
  // panel): side by side with the implementation's, and animated.
  var dual = false;
  var animate = false;

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
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  // textWidth measures s in the page's font: labels are laid out before
  // the picture is in the document, where SVG text could be measured, and
  // a canvas uses the same fonts. A rough estimate stands in without one.
  var measurer = null;
  function textWidth(s, size, weight) {
    if (measurer === null) {
      var c = document.createElement('canvas');
      measurer = (c.getContext && c.getContext('2d')) || false;
    }
    if (!measurer) return s.length * size * 0.62;
    measurer.font = (weight || 400) + ' ' + size + 'px ' + FONT;
    return measurer.measureText(s).width;
  }

  // ---- geometry: boxes are {x, y, w, h}, circles {x, y, r} -------------

  function box(x, y, w, h) { return { x: x, y: y, w: w, h: h }; }
  function moved(b, dx, dy) { return box(b.x + dx, b.y + dy, b.w, b.h); }
  function overlaps(a, b, pad) {
    return a.x < b.x + b.w + pad && b.x < a.x + a.w + pad && a.y < b.y + b.h + pad && b.y < a.y + a.h + pad;
  }
  function inside(a, b) { return a.x >= b.x && a.y >= b.y && a.x + a.w <= b.x + b.w && a.y + a.h <= b.y + b.h; }
  function hitsCircle(b, c, pad) {
    var nx = Math.max(b.x, Math.min(c.x, b.x + b.w)), ny = Math.max(b.y, Math.min(c.y, b.y + b.h));
    return Math.hypot(nx - c.x, ny - c.y) < c.r + pad;
  }
  // grow widens the extent e to take in box b.
  function grow(e, b) {
    e.x0 = Math.min(e.x0, b.x); e.y0 = Math.min(e.y0, b.y);
    e.x1 = Math.max(e.x1, b.x + b.w); e.y1 = Math.max(e.y1, b.y + b.h);
  }

  // ---- layout ------------------------------------------------------------

  // layout places the ring of servers, each with its text lines, and the
  // area around it where message labels may go. The ring grows with the
  // number of servers so that seven still leave room between neighbours.
  // The log table is placed later (placeLogs), once the labels are.
  function layout(servers, notes, twin) {
    var n = servers.length;
    var L = { n: n, dual: twin, r: n <= 3 ? 30 : n <= 5 ? 28 : 25, R: n <= 1 ? 0 : 90 + 13 * n, rowH: n > 5 ? 26 : 28 };
    L.places = servers.map(function (v, i) { return ringPlace(v, notes, i, L); });
    var e = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
    L.places.forEach(function (p) {
      grow(e, box(p.x - L.r - 8, p.y - L.r - 8, 2 * L.r + 16, 2 * L.r + 16));
      grow(e, moved(p.text.box, p.x, p.y));
    });
    if (n === 0) e = { x0: -60, y0: -20, x1: 60, y1: 20 };
    // Side by side, the ring is centred above its logs; alone, it stands
    // left of them.
    L.W = twin ? Math.max(e.x1 - e.x0 + 24, 420) : 0;
    var dx = twin ? L.W / 2 - (e.x0 + e.x1) / 2 : 12 - e.x0, dy = 14 - e.y0;
    L.cx = dx; L.cy = dy;
    L.pos = {};
    L.places.forEach(function (p) { p.x += dx; p.y += dy; L.pos[p.id] = p; });
    L.area = box(e.x0 + dx, e.y0 + dy, e.x1 - e.x0, e.y1 - e.y0);
    return L;
  }

  // ringPlace puts server i on the ring around (0, 0), its role, vote and
  // divergence lines outside the ring (beside the servers at the sides),
  // where no link runs.
  function ringPlace(v, notes, i, L) {
    var a = -Math.PI / 2 + 2 * Math.PI * i / L.n;
    var p = { id: sid(v.id), i: i, x: L.R * Math.cos(a), y: L.R * Math.sin(a), lines: serverLines(v, notes, i, L.n) };
    // Labels keep clear of the circle's ring, or of the wider halo that
    // marks a divergent server.
    p.clear = L.r + (notes.divergent && notes.divergent[i] && notes.divergent[i].length ? 10 : 5);
    var side = L.R > 0 && Math.abs(Math.sin(a)) < 0.35 ? (Math.cos(a) > 0 ? 1 : -1) : 0;
    var w = Math.max.apply(null, p.lines.map(function (s, k) { return textWidth(s, 12, k === 2 ? 700 : 400); }));
    var h = 14 * p.lines.length;
    var t = side ? { dx: side * (L.r + 10), top: -h / 2, anchor: side > 0 ? 'start' : 'end' }
      : L.R > 0 && p.y < -1 ? { dx: 0, top: -L.r - 5 - h, anchor: 'middle' }
        : { dx: 0, top: L.r + 4, anchor: 'middle' };
    var left = t.anchor === 'middle' ? -w / 2 : t.anchor === 'start' ? t.dx : t.dx - w;
    t.box = box(left, t.top, w, h);
    p.text = t;
    return p;
  }

  function serverLines(v, notes, i, n) {
    var role = notes.roles[i], voted = sid(v.voted_for), divergent = notes.divergent && notes.divergent[i];
    var lines = [role];
    if (role === 'candidate') lines.push('votes ' + notes.votes[i].length + '/' + (Math.floor(n / 2) + 1));
    else lines.push(voted ? 'voted S' + voted : 'no vote');
    if (divergent && divergent.length) lines.push('\u2260 ' + divergent.join(', '));
    return lines;
  }

  // placeLogs puts the log table beside the ring (one picture) or under it
  // (side by side), below any labels that overflowed the ring.
  function placeLogs(L) {
    var a = L.area;
    if (L.dual) {
      L.logX = 24; L.logY = a.y + a.h + 36; L.logW = L.W - 44;
    } else {
      L.logX = a.x + a.w + 28; L.logY = 60; L.logW = 480;
      L.W = L.logX + L.logW + 12;
    }
    L.H = Math.max(a.y + a.h + 8, L.logY + 18 + L.n * L.rowH + 8);
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

  // family colours a message: votes orange, replication blue.
  function family(m) { return msgType(m.type) <= 2 ? 'rv' : 'ae'; }

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

  // ---- messages: grouped by link ----------------------------------------

  // linksOf groups the messages in flight by link (unordered pair of
  // servers). The picture labels each link once, however many messages it
  // carries, so that even seven servers leave room to keep labels apart;
  // the list under the picture and the label's tooltip have the details.
  function linksOf(network, notes, L) {
    var byKey = {}, out = [];
    var gof = groupOf(notes.groups);
    network.forEach(function (f, j) {
      var from = sid(f.message.from), to = sid(f.message.to);
      var a = Math.min(from, to), b = Math.max(from, to), key = a + '-' + b;
      var l = byKey[key];
      if (!l) {
        l = byKey[key] = { key: key, a: a, b: b, items: [], copies: 0, dirs: {}, fams: {}, odd: false, drawn: !!(L.pos[a] && L.pos[b]) };
        l.blocked = !!notes.groups && gof[a] !== gof[b];
        out.push(l);
      }
      l.items.push(j);
      l.copies += f.count;
      l.fams[family(f.message)] = true;
      l.odd = l.odd || !!(notes.odd_messages && notes.odd_messages[j]);
      var d = l.dirs[from + '>' + to] = l.dirs[from + '>' + to] || { from: from, to: to, copies: 0, fams: {} };
      d.copies += f.count;
      d.fams[family(f.message)] = true;
    });
    var rich = out.length <= L.n;
    out.forEach(function (l) { l.forms = labelForms(l, network, rich); });
    return out;
  }

  function famOf(fams) { var k = Object.keys(fams); return k.length === 1 ? k[0] : 'mixed'; }

  // labelForms lists a link's possible labels, each a list of lines, most
  // informative first: one message is named (with its copies), several
  // are counted. When the picture has few busy links (rich), a link with
  // up to three messages may first try one line for each, with its way.
  function labelForms(l, network, rich) {
    var copies = function (f) { return f.count > 1 ? ' \u00d7' + f.count : ''; };
    if (l.items.length > 1) {
      var lines = l.items.map(function (j) {
        var f = network[j];
        return 'S' + sid(f.message.from) + '\u2192S' + sid(f.message.to) + ' ' + msgLabel(f.message) + copies(f);
      });
      return rich && lines.length <= 3 ? [lines, [l.copies + ' msgs']] : [[l.copies + ' msgs']];
    }
    var f = network[l.items[0]], m = f.message;
    return [[msgLabel(m) + copies(f)], [(ABBR[msgType(m.type)] || 'msg') + ' t' + m.term + copies(f)]];
  }

  // arrowsOf puts, for each direction of each link, one dot by the sender
  // that points to the receiver; the dots are obstacles for the labels.
  function arrowsOf(links, L) {
    var out = [];
    links.forEach(function (l) {
      if (!l.drawn) return;
      Object.keys(l.dirs).forEach(function (k) {
        var d = l.dirs[k], a = L.pos[d.from], b = L.pos[d.to];
        var len = Math.hypot(b.x - a.x, b.y - a.y) || 1, ux = (b.x - a.x) / len, uy = (b.y - a.y) / len;
        var at = L.r + 15;
        out.push({ link: l, dir: d, x: a.x + ux * at, y: a.y + uy * at, ux: ux, uy: uy, from: a, box: box(a.x + ux * at - 8, a.y + uy * at - 8, 16, 16) });
      });
    });
    return out;
  }

  // placeLabels gives each drawn link a label where it covers no server,
  // server text, arrow or other label: on the link if it fits, else as
  // near to it as it goes, else in a row under the ring. The shortest
  // links, with the least room, choose first.
  function placeLabels(links, arrows, L) {
    var obstacles = { circles: L.places.map(function (p) { return { x: p.x, y: p.y, r: p.clear }; }), boxes: [] };
    L.places.forEach(function (p) { obstacles.boxes.push(moved(p.text.box, p.x, p.y)); });
    arrows.forEach(function (a) { obstacles.boxes.push(a.box); });
    var placed = [];
    var drawn = links.filter(function (l) { return l.drawn; });
    drawn.sort(function (p, q) { return linkLength(p, L) - linkLength(q, L) || p.a - q.a || p.b - q.b; });
    drawn.forEach(function (l) {
      l.place = placeLabel(l, L, obstacles, placed);
      placed.push(l.place.box);
    });
    if (L.overflow) L.area.h = L.overflow.y + LABEL_H + 4 - L.area.y;
  }

  function linkLength(l, L) { var a = L.pos[l.a], b = L.pos[l.b]; return Math.hypot(b.x - a.x, b.y - a.y); }

  function placeLabel(l, L, obstacles, placed) {
    var fits = function (b) { return free(b, L, obstacles, placed); };
    for (var f = 0; f < l.forms.length; f++) {
      var on = spotsOnLink(l, labelSize(l, l.forms[f]), L).filter(fits)[0];
      if (on) return { lines: l.forms[f], box: on, near: true };
    }
    var lines = l.forms[l.forms.length - 1], size = labelSize(l, lines);
    var near = firstSpotAround(l, size, L, fits);
    return { lines: lines, box: near || overflowSpot(L, size), near: false };
  }

  function labelSize(l, lines) {
    var w = Math.max.apply(null, lines.map(function (s) { return textWidth(s, 11, l.odd ? 700 : 400); }));
    return { w: Math.ceil(w) + 12, h: LABEL_H + LINE_H * (lines.length - 1) };
  }

  function free(b, L, obstacles, placed) {
    if (!inside(b, L.area)) return false;
    for (var i = 0; i < obstacles.circles.length; i++) if (hitsCircle(b, obstacles.circles[i], 0)) return false;
    for (i = 0; i < obstacles.boxes.length; i++) if (overlaps(b, obstacles.boxes[i], 2)) return false;
    for (i = 0; i < placed.length; i++) if (overlaps(b, placed[i], 3)) return false;
    return true;
  }

  // spotsOnLink lists boxes on the link, from its middle outwards, each on
  // the line or just beside it (the offset clears the box off the line
  // whatever the link's slope).
  function spotsOnLink(l, size, L) {
    var a = L.pos[l.a], b = L.pos[l.b], out = [];
    var len = Math.hypot(b.x - a.x, b.y - a.y) || 1, nx = -(b.y - a.y) / len, ny = (b.x - a.x) / len;
    var clear = Math.abs(nx) * size.w / 2 + Math.abs(ny) * size.h / 2 + 2;
    [0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73].forEach(function (t) {
      [0, 1, -1].forEach(function (side) {
        var cx = a.x + (b.x - a.x) * t + nx * side * clear, cy = a.y + (b.y - a.y) * t + ny * side * clear;
        out.push(box(cx - size.w / 2, cy - size.h / 2, size.w, size.h));
      });
    });
    return out;
  }

  // firstSpotAround searches rings of growing radius around the link's
  // middle for the first free box.
  function firstSpotAround(l, size, L, fits) {
    var a = L.pos[l.a], b = L.pos[l.b], mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2;
    var far = Math.max(L.area.w, L.area.h);
    for (var rho = 8; rho < far; rho += 8) {
      for (var k = 0; k < 16; k++) {
        var t = 2 * Math.PI * k / 16;
        var bx = box(mx + rho * Math.cos(t) - size.w / 2, my + rho * Math.sin(t) - size.h / 2, size.w, size.h);
        if (fits(bx)) return bx;
      }
    }
    return null;
  }

  // overflowSpot takes the next place in rows under the ring, where
  // nothing else is drawn: the last resort, so a label never covers
  // anything however crowded the ring.
  function overflowSpot(L, size) {
    var a = L.area;
    if (!L.overflow) L.overflow = { x: a.x, y: a.y + a.h + 4 };
    var o = L.overflow;
    if (o.x > a.x && o.x + size.w > a.x + a.w) { o.x = a.x; o.y += LABEL_H + 4; }
    var b = box(o.x, o.y, size.w, size.h);
    o.x += size.w + 6;
    return b;
  }

  // ---- drawing -----------------------------------------------------------

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

  // drawLinks draws every pair's faint line, and a coloured one under the
  // links that carry messages.
  function drawLinks(g, links, L) {
    for (var i = 0; i < L.places.length; i++) for (var j = i + 1; j < L.places.length; j++) {
      var p = L.places[i], q = L.places[j];
      svg('line', { 'class': 'link', x1: p.x, y1: p.y, x2: q.x, y2: q.y }, g);
    }
    links.forEach(function (l) {
      if (!l.drawn) return;
      var a = L.pos[l.a], b = L.pos[l.b];
      svg('line', { 'class': 'busy ' + famOf(l.fams) + (l.blocked ? ' blocked' : ''), 'data-link': l.key, x1: a.x, y1: a.y, x2: b.x, y2: b.y }, g);
    });
  }

  function drawServers(g, servers, L, notes, before) {
    servers.forEach(function (v, i) {
      var p = L.places[i], role = notes.roles[i], divergent = notes.divergent && notes.divergent[i];
      var s = svg('g', { 'class': 'server' + (divergent && divergent.length ? ' divergent' : ''), 'data-server': p.id, 'data-role': role, 'data-term': v.term, 'data-voted': sid(v.voted_for) }, g);
      tip(s, notes.servers[i] || '');
      svg('circle', { 'class': 'halo', cx: p.x, cy: p.y, r: L.r + 7 }, s);
      var node = svg('circle', { 'class': 'node ' + role, cx: p.x, cy: p.y, r: L.r }, s);
      svgText(s, p.x, p.y - 5, 'S' + p.id, 'name');
      svgText(s, p.x, p.y + 14, 'term ' + v.term, 'term');
      p.lines.forEach(function (line, k) {
        var t = svgText(s, p.x + p.text.dx, p.y + p.text.top + 11 + 14 * k, line, 'sub' + (k === 2 ? ' diverge-text' : ''));
        t.setAttribute('text-anchor', p.text.anchor);
      });
      var was = before && before.servers && before.servers[i];
      if (animate && was && (was.role !== v.role || was.term !== v.term)) {
        node.style.transformOrigin = p.x + 'px ' + p.y + 'px';
        node.animate([{ transform: 'scale(1.25)' }, { transform: 'scale(1)' }], { duration: 450, easing: 'ease-out' });
      }
    });
  }

  // drawArrows draws the direction dots; a direction that gained copies
  // since the step before slides out of its sender.
  function drawArrows(g, arrows, L, oldDirs) {
    arrows.forEach(function (a) {
      var d = a.dir, fam = famOf(d.fams);
      var ag = svg('g', { 'class': 'arrow ' + fam + (a.link.blocked ? ' blocked' : '') + (a.link.odd ? ' odd' : ''), 'data-link': a.link.key, 'data-from': d.from, 'data-to': d.to, 'data-count': d.copies }, g);
      tip(ag, 'S' + d.from + ' \u2192 S' + d.to + ': ' + d.copies + (d.copies > 1 ? ' messages' : ' message'));
      svg('line', { 'class': 'shaft', x1: a.x - a.ux * 10, y1: a.y - a.uy * 10, x2: a.x + a.ux * 10, y2: a.y + a.uy * 10, 'marker-end': 'url(#' + L.id + '-arrow-' + fam + ')' }, ag);
      svg('circle', { 'class': 'dot', cx: a.x, cy: a.y, r: 6.5 }, ag);
      if (d.copies > 1) svgText(ag, a.x, a.y, String(d.copies), 'copies');
      if (animate && oldDirs && (oldDirs[d.from + '>' + d.to] || 0) < d.copies) {
        ag.animate([{ transform: 'translate(' + (a.from.x - a.x) + 'px,' + (a.from.y - a.y) + 'px)', opacity: 0.2 },
          { transform: 'translate(0px,0px)', opacity: 1 }], { duration: 500, easing: 'ease-out' });
      }
    });
  }

  // drawLabels draws each link's label, with its messages as tooltip; a
  // label moved off its link is tied to the link's middle by a thin line.
  function drawLabels(g, links, network, notes, L) {
    var ties = svg('g', { 'class': 'ties' }, g);
    links.forEach(function (l) {
      if (!l.drawn) return;
      var b = l.place.box, a = L.pos[l.a], c = L.pos[l.b];
      if (!l.place.near) {
        var mx = (a.x + c.x) / 2, my = (a.y + c.y) / 2;
        svg('line', { 'class': 'tie', x1: mx, y1: my, x2: Math.max(b.x, Math.min(mx, b.x + b.w)), y2: Math.max(b.y, Math.min(my, b.y + b.h)) }, ties);
      }
      var lg = svg('g', { 'class': 'link-label ' + famOf(l.fams) + (l.blocked ? ' blocked' : '') + (l.odd ? ' odd' : ''), 'data-link': l.key, 'data-count': l.copies, 'data-near': l.place.near }, g);
      tip(lg, l.items.map(function (j) { return messageText(network[j], notes, j, l.blocked); }).join('\n'));
      svg('rect', { 'class': 'pill', x: b.x, y: b.y, width: b.w, height: b.h, rx: LABEL_H / 2 }, lg);
      var first = b.y + b.h / 2 - LINE_H * (l.place.lines.length - 1) / 2;
      l.place.lines.forEach(function (s, k) { svgText(lg, b.x + b.w / 2, first + LINE_H * k, s, 'label'); });
    });
  }

  function messageText(f, notes, j, blocked) {
    return notes.messages[j] + (f.count > 1 ? '  \u00d7' + f.count : '') + (blocked ? ' (blocked by the partition)' : '');
  }

  // drawDelivery shows the step's delivered (or dropped) message arriving
  // at its receiver (or vanishing); the element removes itself.
  function drawDelivery(g, action, kind, L) {
    var m = action.message;
    if (!m || (kind !== 'Deliver' && kind !== 'Drop')) return;
    var a = L.pos[sid(m.from)], b = L.pos[sid(m.to)];
    if (!a || !b) return;
    var ghost = svg('g', { 'class': 'ghost ' + family(m) }, g);
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
      svg('circle', { 'class': 'node ' + notes.roles[i], cx: L.logX + 6, cy: y + (L.rowH - 4) / 2, r: 5, 'stroke-width': 1.5 }, row);
      svgText(row, L.logX + 15, y + (L.rowH - 4) / 2, 'S' + sid(v.id), 'rowname');
      log.forEach(function (e, j) { drawEntry(row, v, e, j, x0 + j * bw, y, bw, L.rowH - 6); });
      var tail = x0 + log.length * bw + 6;
      svgText(row, tail, y + (L.rowH - 4) / 2, log.length ? 'commit ' + v.commit_index : 'empty log' + (v.commit_index ? ', commit ' + v.commit_index : ''), 'commit');
    });
  }

  function drawEntry(row, v, e, j, x, y, bw, h) {
    var committed = j + 1 <= v.commit_index;
    var eg = svg('g', { 'class': 'entry' + (committed ? ' committed' : ''), 'data-index': j + 1, 'data-term': e.term }, row);
    tip(eg, 'S' + sid(v.id) + ' [' + (j + 1) + '] term ' + e.term + ' value ' + JSON.stringify(e.value) + (committed ? ' (committed)' : ' (not committed)'));
    svg('rect', { 'class': 'box' + (committed ? ' committed' : ''), x: x + 1.5, y: y, width: bw - 3, height: h, rx: 3 }, eg);
    // A box too narrow for its value shows the term, as the classic
    // animation does; the tooltip has the rest.
    var room = Math.floor((bw - 6) / 6.3), full = e.term + ':' + e.value;
    var label = full.length <= room ? full : room >= 7 ? short(full, room) : String(e.term);
    svgText(eg, x + bw / 2, y + h / 2, label, '');
  }

  function defs(s, id) {
    var d = svg('defs', {}, s);
    [['rv', '#f29e4c'], ['ae', '#4a7fd6'], ['mixed', '#78909c']].forEach(function (c) {
      var mk = svg('marker', { id: id + '-arrow-' + c[0], viewBox: '0 0 10 10', refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: 'auto-start-reverse' }, d);
      svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: c[1] }, mk);
    });
  }

  // directions counts a state's message copies per sender>receiver, to
  // see which directions gained copies in a step.
  function directions(state) {
    var out = {};
    ((state && state.network) || []).forEach(function (f) {
      var k = sid(f.message.from) + '>' + sid(f.message.to);
      out[k] = (out[k] || 0) + f.count;
    });
    return out;
  }

  // picture draws one cluster state. Everything is placed before anything
  // is drawn: servers, then the direction dots, then the labels around
  // both, then the logs where the labels left room. ctx.before is the
  // previous frame's state when stepping forward, to animate what changed.
  function picture(kind, state, notes, ctx) {
    var servers = state.servers || [], network = state.network || [];
    var L = layout(servers, notes, dual);
    L.id = kind;
    var links = linksOf(network, notes, L), arrows = arrowsOf(links, L);
    placeLabels(links, arrows, L);
    placeLogs(L);
    var s = svg('svg', { 'class': 'picture', viewBox: '0 0 ' + L.W + ' ' + L.H, role: 'img', 'aria-label': kind + ' state' });
    defs(s, kind);
    drawPartition(svg('g', { 'class': 'partitions' }, s), notes.groups, L, L.n);
    drawLinks(svg('g', { 'class': 'links' }, s), links, L);
    drawServers(svg('g', { 'class': 'servers' }, s), servers, L, notes, ctx.before);
    var mg = svg('g', { 'class': 'messages' }, s);
    if (!network.length) svgText(mg, L.cx, L.cy + 4, 'no messages in flight', 'empty-net').setAttribute('text-anchor', 'middle');
    drawArrows(mg, arrows, L, ctx.before && directions(ctx.before));
    drawLabels(mg, links, network, notes, L);
    if (animate && ctx.before && ctx.action) drawDelivery(mg, ctx.action, ctx.actionKind, L);
    if (notes.groups && notes.groups.length) {
      svgText(s, L.dual ? 8 : L.logX, L.dual ? L.logY - 24 : 20, 'partition ' + notes.groups.map(function (gr) { return '{' + gr.map(function (id) { return 'S' + id; }).join(',') + '}'; }).join(' '), 'partition-label');
    }
    drawLogs(svg('g', { 'class': 'logs' }, s), state, notes, L);
    return { svg: s, links: links };
  }

  // networkList lists the messages in flight under the picture, grouped by
  // link as the labels are, in full.
  function networkList(sec, network, notes, links) {
    var copies = network.reduce(function (n, f) { return n + f.count; }, 0);
    html('h3', 'network-title', sec, copies ? copies + (copies > 1 ? ' messages' : ' message') + ' in flight' : 'no messages in flight');
    var ul = html('ul', 'network', sec);
    links.forEach(function (l) {
      var li = html('li', 'link-group' + (l.blocked ? ' blocked' : ''), ul);
      li.setAttribute('data-link', l.key);
      html('span', 'link-name', li, 'S' + l.a + ' \u2194 S' + l.b + (l.blocked ? ' (cut by the partition)' : ''));
      var inner = html('ul', '', li);
      l.items.forEach(function (j) {
        var odd = notes.odd_messages && notes.odd_messages[j];
        var m = html('li', 'message' + (l.blocked ? ' blocked' : '') + (odd ? ' odd' : ''), inner, messageText(network[j], notes, j, false));
        m.setAttribute('data-count', network[j].count);
        m.setAttribute('data-message', j);
      });
    });
  }

  // hover highlights a link's label, line, dots and list entry together
  // while the pointer is on any of them.
  function hover(sec) {
    var set = function (key) { each(sec.querySelectorAll('[data-link]'), function (el) { el.classList.toggle('hot', el.getAttribute('data-link') === key); }); };
    sec.addEventListener('mouseover', function (e) {
      var el = e.target.closest && e.target.closest('[data-link]');
      set(el ? el.getAttribute('data-link') : null);
    });
    sec.addEventListener('mouseleave', function () { set(null); });
  }

  // panel draws one state as a section with its picture and the list of
  // its messages. ctx: before (the previous state when stepping forward,
  // to animate what changed), action and actionKind (the step's), dual
  // (the picture stands beside the implementation's) and animate.
  function panel(kind, title, state, notes, ctx) {
    dual = !!ctx.dual;
    animate = !!ctx.animate;
    var sec = html('section', 'panel', null);
    sec.id = 'panel-' + kind;
    sec.setAttribute('data-panel', kind);
    if (notes.divergent && notes.divergent.some(function (d) { return d && d.length; })) sec.classList.add('diverged');
    if (dual) html('h2', '', sec, title);
    var pic = picture(kind, state, notes, ctx);
    sec.appendChild(pic.svg);
    networkList(sec, state.network || [], notes, pic.links);
    hover(sec);
    return sec;
  }

  return {
    panel: panel, html: html, svg: svg, short: short, each: each, box: box, grow: grow, sid: sid
  };
})();
