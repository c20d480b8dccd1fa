// raftcheck trace viewer: draws each frame of a replayed trace as SVG, the
// way the classic Raft animation does, from the JSON that traces.WriteHTML
// embeds in the page, with the pictures of picture.js (RaftPicture). User
// text only ever reaches the DOM as text nodes.
(function () {
  'use strict';

  var P = RaftPicture, html = P.html, each = P.each, box = P.box, grow = P.grow;
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message)); });

  var data = JSON.parse(document.getElementById('trace-data').textContent);
  var frames = data.frames;
  // dual: the page compares the model with the implementation (frames
  // after a divergence carry the model only, but still belong to it).
  var dual = frames.some(function (f) { return !!f.impl || !!f.model_only; });
  var divergedAt = divergenceStep();
  var jumps = {
    violation: firstIndex(function (f) { return !!f.violation; }),
    divergence: firstIndex(function (f) { return !!(f.diff && f.diff.length); })
  };
  var params = parseHash();
  var animate = (!params.selftest || params.animate) && !(window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches);
  var cur = -1;
  var timer = null;

  var $ = function (id) { return document.getElementById(id); };
  var pictures = $('pictures');
  var scrub = $('scrub');
  var stepList = $('step-list');

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

  function firstIndex(pred) {
    for (var i = 0; i < frames.length; i++) if (pred(frames[i])) return i;
    return -1;
  }

  // divergenceStep is the step at which the implementation diverged: the
  // first step with a diff, or else the last step it was compared at
  // before the model-only frames; null when nothing diverged.
  function divergenceStep() {
    var d = firstIndex(function (f) { return !!(f.diff && f.diff.length); });
    if (d >= 0) return frames[d].step;
    var m = firstIndex(function (f) { return !!f.model_only; });
    return m > 0 ? frames[m - 1].step : null;
  }

  // modelOnlyPanel stands in for the implementation's picture after the
  // replay stopped comparing: the implementation state is not known there.
  function modelOnlyPanel() {
    var sec = html('section', 'panel note', pictures);
    sec.id = 'panel-impl-diverged';
    html('h2', '', sec, 'implementation');
    var at = divergedAt === null ? '' : ' at step ' + divergedAt;
    html('p', 'note-text', sec, 'The implementation diverged' + at + '; from here on only the model is shown.');
    if (divergedAt !== null) {
      var b = html('button', '', sec, 'compare at step ' + divergedAt);
      b.type = 'button';
      b.addEventListener('click', function () { stop(); show(indexOfStep(divergedAt)); });
    }
  }

  function list(ul, items) {
    ul.textContent = '';
    (items || []).forEach(function (s) { html('li', '', ul, s); });
  }

  function drawPictures(f, fwd) {
    pictures.textContent = '';
    pictures.className = dual ? 'dual' : 'single';
    var ctx = { before: fwd && fwd.model, action: f.action, actionKind: f.action_kind, dual: dual, animate: animate };
    pictures.appendChild(P.panel('model', 'model', f.model, f.model_notes, ctx));
    if (!dual) return;
    if (f.impl) {
      ctx.before = fwd && fwd.impl;
      pictures.appendChild(P.panel('impl', 'implementation', f.impl, f.impl_notes, ctx));
    } else if (f.model_only) {
      modelOnlyPanel();
    } else {
      html('section', 'panel empty', pictures, 'no implementation state at this step').id = 'panel-impl-missing';
    }
  }

  function showBanners(f) {
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
    showLoop(f);
  }

  // showLoop says, on a lasso (a liveness counterexample), where the frame
  // lies: in the cycle that repeats forever, at its end (back to the
  // state the cycle starts from), or where the behaviour stutters.
  function showLoop(f) {
    var l = $('loop'), k = data.loop, n = frames[frames.length - 1].step;
    var text = '';
    if (k !== undefined && k !== null) {
      if (k === n && f.step === n) {
        text = '\u21BA The behaviour stops here and stutters forever: no fair action is enabled. This repeats forever.';
      } else if (f.step === n) {
        text = '\u21BA The state after step ' + n + ' is the state after step ' + k + ': steps ' + (k + 1) + '\u2013' + n + ' repeat forever.';
      } else if (f.step > k) {
        text = '\u21BA In the cycle: steps ' + (k + 1) + '\u2013' + n + ' repeat forever.';
      }
    }
    l.hidden = !text;
    l.textContent = text;
  }

  function show(i) {
    i = Math.max(0, Math.min(frames.length - 1, i));
    var prev = cur;
    cur = i;
    var f = frames[i];
    drawPictures(f, prev >= 0 && i === prev + 1 ? frames[prev] : null);
    $('step').textContent = 'step ' + f.step + ' / ' + frames[frames.length - 1].step;
    $('caption').textContent = f.caption || '';
    $('action').textContent = f.action_text;
    showBanners(f);
    $('first').disabled = $('prev').disabled = i === 0;
    $('next').disabled = $('last').disabled = i === frames.length - 1;
    scrub.max = frames.length - 1;
    scrub.value = i;
    markCurrent(i, prev);
    if (!params.selftest) {
      try { history.replaceState(null, '', '#step=' + f.step); } catch (e) { /* file: URLs may refuse */ }
    }
  }

  // ---- the step list -----------------------------------------------------

  // stepMarks names what is special about a frame: the list shows each as
  // a tag and a class.
  function stepMarks(f) {
    var marks = [];
    if (f.violation) marks.push(['violation', '\u2717 ' + f.violation]);
    if (f.failed && f.failed.length) marks.push(['failed', f.failed.length + ' failed']);
    if (f.diff && f.diff.length) marks.push(['divergent', '\u2260 diverges']);
    if (f.model_only) marks.push(['model-only', 'model only']);
    var k = data.loop, n = frames[frames.length - 1].step;
    if (k !== undefined && k !== null) {
      if (f.step === k + 1 && k < n) marks.push(['loop-start', '\u21BA cycle starts']);
      if (f.step === n) marks.push(['loop-end', k < n ? '\u21BA back to step ' + k : '\u21BA stutters forever']);
    }
    return marks;
  }

  function buildStepList() {
    frames.forEach(function (f, i) {
      var marks = stepMarks(f);
      var li = html('li', marks.map(function (m) { return m[0]; }).join(' '), stepList);
      li.setAttribute('data-index', i);
      if (f.caption) li.title = f.caption;
      var b = html('button', '', li);
      b.type = 'button';
      html('span', 'num', b, String(f.step));
      html('span', 'text', b, f.action_text);
      var tags = marks.length ? html('span', 'marks', b) : null;
      marks.forEach(function (m) { html('span', 'mark ' + m[0], tags, m[1]); });
    });
    stepList.addEventListener('click', function (e) {
      var li = e.target.closest('li[data-index]');
      if (li) { stop(); show(parseInt(li.getAttribute('data-index'), 10)); }
    });
  }

  // markCurrent highlights step i in the list and, when it is out of
  // sight (or force is set, after a resize rewrapped the list), scrolls
  // the list, not the page, to bring it to the middle of what shows.
  function markCurrent(i, prev, force) {
    if (prev >= 0 && stepList.children[prev]) {
      stepList.children[prev].classList.remove('current');
      stepList.children[prev].removeAttribute('aria-current');
    }
    var li = stepList.children[i];
    if (!li) return;
    li.classList.add('current');
    li.setAttribute('aria-current', 'step');
    var box = $('sidebar'), r = li.getBoundingClientRect(), b = box.getBoundingClientRect();
    var top = Math.max(b.top, 0) + 24, bottom = Math.min(b.bottom, window.innerHeight);
    if (force || r.top < top || r.bottom > bottom) box.scrollTop += (r.top + r.bottom) / 2 - (top + bottom) / 2;
  }

  // ---- controls ----------------------------------------------------------

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

  // jump goes to the violation or the divergence, if the trace has one.
  function jump(what) {
    if (jumps[what] < 0) return;
    stop();
    show(jumps[what]);
  }

  function setUp() {
    $('failure').hidden = !data.failure;
    $('failure-text').textContent = data.failure || '';
    buildStepList();
    [['to-violation', 'violation'], ['to-divergence', 'divergence']].forEach(function (b) {
      $(b[0]).hidden = $(b[0]).disabled = jumps[b[1]] < 0;
      $(b[0]).addEventListener('click', function () { jump(b[1]); });
    });
    $('first').addEventListener('click', function () { stop(); show(0); });
    $('prev').addEventListener('click', function () { stop(); show(cur - 1); });
    $('next').addEventListener('click', function () { stop(); show(cur + 1); });
    $('last').addEventListener('click', function () { stop(); show(frames.length - 1); });
    $('play').addEventListener('click', play);
    scrub.addEventListener('input', function () { stop(); show(parseInt(scrub.value, 10)); });
    document.addEventListener('keydown', onKey);
    // A resize rewraps the step list: bring the current step back to view.
    window.addEventListener('resize', function () { markCurrent(cur, -1, true); });
    window.addEventListener('hashchange', function () {
      var p = parseHash();
      if (p.step !== null) show(indexOfStep(p.step));
    });
  }

  function onKey(e) {
    if (e.target === scrub || e.altKey || e.ctrlKey || e.metaKey) return;
    var to = { ArrowRight: cur + 1, ArrowLeft: cur - 1, Home: 0, End: frames.length - 1 }[e.key];
    if (to !== undefined) { e.preventDefault(); stop(); show(to); }
    var j = { v: 'violation', V: 'violation', d: 'divergence', D: 'divergence' }[e.key];
    if (j) { e.preventDefault(); jump(j); }
    if (e.key === ' ' && e.target.tagName !== 'BUTTON') { e.preventDefault(); play(); }
  }

  setUp();
  show(params.step === null ? 0 : indexOfStep(params.step));
  if (params.selftest) selftest();

  // ---- self-test ---------------------------------------------------------

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
    key('Home'); key('v'); out.nav.violationKey = cur;
    key('Home'); click('to-violation'); out.nav.violationButton = cur;
    key('Home'); key('d'); out.nav.divergenceKey = cur;
    key('Home'); click('to-divergence'); out.nav.divergenceButton = cur;
    var target = stepList.children[Math.min(2, frames.length - 1)].querySelector('span.text');
    target.dispatchEvent(new MouseEvent('click', { bubbles: true })); out.nav.listClick = cur;
    out.hover = hoverTest();
    out.list = Array.prototype.map.call(stepList.children, function (li) {
      return { step: li.querySelector('.num').textContent, text: li.querySelector('.text').textContent, marks: li.className.split(' ').filter(function (c) { return c && c !== 'current'; }) };
    });
    out.jumps = {};
    ['to-violation', 'to-divergence'].forEach(function (id) { out.jumps[id] = { hidden: $(id).hidden, disabled: $(id).disabled }; });
  }
  // hoverTest points at the model's first label and reports which link
  // that highlights in the list, and how many elements light up.
  function hoverTest() {
    var label = pictures.querySelector('#panel-model .link-label');
    if (!label) return null;
    label.querySelector('rect').dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    var hot = pictures.querySelectorAll('#panel-model .hot');
    var item = pictures.querySelector('#panel-model li.link-group.hot');
    return { link: label.getAttribute('data-link'), listed: item ? item.getAttribute('data-link') : null, hot: hot.length };
  }
  function click(id) { $(id).dispatchEvent(new MouseEvent('click', { bubbles: true })); }
  function key(k) { document.body.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true })); }
  function hash(s) {
    var h = 5381;
    for (var i = 0; i < s.length; i++) h = (h * 33 + s.charCodeAt(i)) >>> 0;
    return h.toString(16);
  }
  // geometry reports, in picture units, what the browser test checks for
  // overlaps: the labels, the server circles, each server's text lines
  // (as one box) and the log rows.
  function geometry(sec) {
    var r1 = function (x) { return Math.round(x * 10) / 10; };
    var out = function (b) { return [r1(b.x0), r1(b.y0), r1(b.x1 - b.x0), r1(b.y1 - b.y0)]; };
    var union = function (els) {
      var e = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
      each(els, function (el) { var b = el.getBBox(); grow(e, box(b.x, b.y, b.width, b.height)); });
      return out(e);
    };
    var all = function (sel) { return Array.prototype.map.call(sec.querySelectorAll(sel), function (el) { return union([el]); }); };
    var vb = sec.querySelector('svg.picture').viewBox.baseVal;
    return {
      labels: all('.link-label'), nodes: all('.server .node'), rows: all('.logrow .rowbg'), view: [vb.width, vb.height],
      texts: Array.prototype.map.call(sec.querySelectorAll('.server'), function (g) { return union(g.querySelectorAll('.sub')); })
    };
  }
  function snapshot() {
    var panels = {};
    each(pictures.querySelectorAll('section.panel[data-panel]'), function (sec) {
      var q = function (sel) { return sec.querySelectorAll(sel).length; };
      panels[sec.getAttribute('data-panel')] = {
        servers: Array.prototype.map.call(sec.querySelectorAll('.server[data-server]'), function (g) {
          return { id: +g.getAttribute('data-server'), role: g.getAttribute('data-role'), term: +g.getAttribute('data-term'), voted: +g.getAttribute('data-voted') };
        }),
        entries: q('.entry'), committed: q('.entry.committed'), messages: q('.message'), blocked: q('.message.blocked'),
        regions: q('.partition-region'), cut: q('.partition-line'), divergent: q('.server.divergent'), odd: q('.message.odd'),
        links: q('.link-label'), geometry: geometry(sec)
      };
    });
    var svgs = pictures.innerHTML;
    var current = stepList.querySelector('li.current');
    var note = $('panel-impl-diverged');
    return {
      index: cur, step: $('step').textContent, caption: $('caption').textContent, action: $('action').textContent,
      violation: $('violation').hidden ? null : $('violation').textContent,
      loop: $('loop').hidden ? null : $('loop').textContent,
      failure: $('failure').hidden ? null : $('failure').textContent,
      failed: $('failed').hidden ? null : Array.prototype.map.call($('failed-lines').children, function (li) { return li.textContent; }),
      diff: $('diff').hidden ? null : Array.prototype.map.call($('diff-lines').children, function (li) { return li.textContent; }),
      implMissing: !!$('panel-impl-missing'), modelOnly: note ? note.querySelector('.note-text').textContent : null,
      listed: current ? +current.getAttribute('data-index') : -1,
      svgHash: hash(svgs), svgLength: svgs.length, panels: panels
    };
  }
})();
