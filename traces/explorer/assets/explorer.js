// raftcheck explorer: steps through the model from the page, drawing each
// state with the trace viewer's pictures (picture.js, RaftPicture). The
// server is stateless: the page keeps the path (the numbers of the enabled
// actions taken) and asks the server for the state it reaches. User text
// only ever reaches the DOM as text nodes.
(function () {
  'use strict';

  var P = RaftPicture, html = P.html;
  var $ = function (id) { return document.getElementById(id); };
  // full is the whole path known (going back keeps the steps ahead, to go
  // forward again); at is how many of its steps are taken.
  var full = [], at = 0;
  // trace is the loaded trace ({path: [...], steps, violation}) or null.
  var trace = null;
  var state = null; // the server's answer for the current state
  var replayed = null; // {path, frames, verdict, ok, divergence}
  var searching = null; // the AbortController of the running search
  var seq = 0; // numbers the loads, so a late answer is ignored

  function parsePath(s) { return s ? s.split('.').map(function (x) { return parseInt(x, 10); }) : []; }
  function prefix() { return full.slice(0, at).join('.'); }
  function onTrace() {
    if (!trace || at > trace.path.length) return false;
    for (var i = 0; i < at; i++) if (full[i] !== trace.path[i]) return false;
    return true;
  }
  // query names the current state for the API and the URL: ?step=K on the
  // loaded trace, else ?path=....
  function query() { return onTrace() ? 'step=' + at : 'path=' + prefix(); }

  function getJSON(url, opts) {
    return fetch(url, opts).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) throw new Error(b.error || r.statusText);
        return b;
      });
    });
  }

  function showError(e) {
    $('error').hidden = !e;
    $('error').textContent = e ? '\u26A0 ' + (e.message || e) : '';
  }

  // go shows the state after n steps of the path.
  function go(n) {
    at = Math.max(0, Math.min(full.length, n));
    return load();
  }

  // take takes enabled action i: along the path if it is the next step,
  // else it branches (the steps ahead are dropped).
  function take(i) {
    if (full[at] !== i) full = full.slice(0, at).concat([i]);
    return go(at + 1);
  }

  function load() {
    var my = ++seq;
    document.body.setAttribute('data-ready', '');
    if (searching) { searching.abort(); searching = null; }
    return getJSON('/api/state?' + query()).then(function (s) {
      if (my !== seq) return;
      state = s;
      showError(null);
      render();
      try { history.replaceState(null, '', '?' + query()); } catch (e) { /* ignore */ }
      document.body.setAttribute('data-ready', prefix() + '@' + at);
      search();
    }).catch(function (e) { if (my === seq) showError(e); });
  }

  // ---- drawing -----------------------------------------------------------

  function render() {
    var f = JSON.parse(JSON.stringify(state.frame));
    $('config').textContent = state.config;
    $('step').textContent = 'step ' + at + (full.length > at ? ' of ' + full.length : '');
    $('caption').textContent = f.caption || '';
    $('action').textContent = f.action_text;
    var v = $('violation');
    v.hidden = !f.violation;
    v.textContent = f.violation ? '\u2717 ' + f.violation + ' violated' + (f.message ? ': ' + f.message : '') : '';
    $('to-violation').hidden = !violationStep();
    $('start').disabled = $('back').disabled = at === 0;
    $('forward').disabled = at >= full.length;
    $('export').href = '/api/export?' + query();
    drawPictures(f);
    stepList();
    actions();
    properties();
  }

  function drawPictures(f) {
    var pics = $('pictures');
    pics.textContent = '';
    var r = replayedFrame();
    var dual = !!r;
    pics.className = dual ? 'dual' : 'single';
    var ctx = { action: f.action, actionKind: f.action_kind, dual: dual, animate: false };
    pics.appendChild(P.panel('model', 'model', f.model, f.model_notes, ctx));
    if (r && r.impl) pics.appendChild(P.panel('impl', 'implementation', r.impl, r.impl_notes, ctx));
    else if (r) html('section', 'panel empty', pics, 'the implementation was not compared at this step').id = 'panel-impl-missing';
    P.each(pics.querySelectorAll('#panel-model li.message[data-message]'), function (li) {
      var m = f.model.network[+li.getAttribute('data-message')].message;
      var a = deliverOf(m);
      if (!a) return;
      li.classList.add('takeable');
      li.title = 'deliver it: ' + a.text;
      li.addEventListener('click', function () { take(a.index); });
    });
    showReplay();
  }

  // deliverOf finds the enabled Deliver of message m, if any.
  function deliverOf(m) {
    var key = JSON.stringify(m);
    return state.enabled.filter(function (a) { return a.kind === 'Deliver' && JSON.stringify(a.message) === key; })[0];
  }

  // replayedFrame is the implementation's frame for this step when the
  // last replay ran a path that the current one follows.
  function replayedFrame() {
    if (!replayed) return null;
    var p = parsePath(replayed.path);
    if (at >= replayed.frames.length || at > p.length) return null;
    for (var i = 0; i < at; i++) if (p[i] !== full[i]) return null;
    return replayed.frames[at];
  }

  function showReplay() {
    var box = $('replay-result');
    box.hidden = !replayed;
    if (!replayed) return;
    box.className = 'banner' + (replayed.ok ? '' : ' bad');
    $('replay-verdict').textContent = 'replay of the export (' + parsePath(replayed.path).length + ' steps): ' + replayed.verdict;
    var ul = $('replay-lines');
    ul.textContent = '';
    (replayed.divergence || []).forEach(function (s) { html('li', '', ul, s); });
  }

  function violationStep() {
    for (var i = 0; i < state.steps.length; i++) if (state.steps[i].violation) return i + 1;
    if (trace && trace.violation && onTraceFull()) return trace.violation;
    return 0;
  }
  function onTraceFull() {
    if (!trace || full.length < trace.path.length) return false;
    for (var i = 0; i < trace.path.length; i++) if (full[i] !== trace.path[i]) return false;
    return true;
  }

  // stepList lists the path: the steps taken, then the ones ahead.
  function stepList() {
    var ol = $('step-list');
    ol.textContent = '';
    var item = function (n, text, cls, tip) {
      var li = html('li', cls, ol);
      li.setAttribute('data-step', n);
      if (tip) li.title = tip;
      var b = html('button', '', li);
      b.type = 'button';
      html('span', 'num', b, String(n));
      html('span', 'text', b, text);
      b.addEventListener('click', function () { go(n); });
      return li;
    };
    item(0, 'initial state', 'start' + (at === 0 ? ' current' : ''));
    state.steps.forEach(function (s, k) {
      var li = item(k + 1, s.text, (s.violation ? 'violation' : '') + (k + 1 === at ? ' current' : ''), s.caption);
      if (s.violation) html('span', 'mark violation', li.firstChild, '\u2717 ' + s.violation);
    });
    for (var k = at; k < full.length; k++) item(k + 1, 'step ' + (k + 1) + ' ahead (action ' + full[k] + ')', 'future');
  }

  function actions() {
    var ol = $('actions');
    ol.textContent = '';
    if (!state.enabled.length) html('li', 'none', ol, 'no action is enabled: the bounds are exhausted here');
    state.enabled.forEach(function (a) {
      var li = html('li', a.breaks ? 'breaks' : '', ol);
      li.setAttribute('data-index', a.index);
      li.setAttribute('data-kind', a.kind);
      if (full[at] === a.index) li.classList.add('next');
      var b = html('button', '', li);
      b.type = 'button';
      html('span', 'text', b, a.text + (full[at] === a.index ? '  (the path\u2019s next step)' : ''));
      html('span', 'verdict', b, a.breaks ? '\u2717 breaks ' + a.breaks : '');
      html('span', 'preview', b, a.preview);
      if (a.caption) html('span', 'story', b, a.caption);
      b.addEventListener('click', function () { take(a.index); });
    });
  }

  function properties() {
    var ul = $('properties');
    ul.textContent = '';
    state.properties.forEach(function (p) {
      var li = html('li', p.holds ? 'holds' : 'fails', ul, (p.holds ? '\u2713 ' : '\u2717 ') + p.name + ' (' + p.kind + ')');
      li.setAttribute('data-property', p.name);
      if (p.message) html('span', 'msg', li, p.message);
    });
  }

  // ---- the search --------------------------------------------------------

  // search asks which enabled actions lead to a violation and marks each
  // action as its answer arrives (one JSON line each).
  function search() {
    if (searching) searching.abort();
    var ctl = searching = new AbortController();
    var status = $('search-status');
    status.textContent = 'searching\u2026';
    $('actions').setAttribute('data-search', 'running');
    var extra = new URLSearchParams(location.search);
    var budget = ['depth', 'states'].filter(function (k) { return extra.has(k); }).map(function (k) { return '&' + k + '=' + encodeURIComponent(extra.get(k)); }).join('');
    fetch('/api/search?' + query() + budget, { signal: ctl.signal }).then(function (r) {
      if (!r.ok) return r.json().then(function (b) { throw new Error(b.error); });
      var reader = r.body.getReader(), dec = new TextDecoder(), buf = '';
      var pump = function () {
        return reader.read().then(function (x) {
          if (x.done) return;
          buf += dec.decode(x.value, { stream: true });
          var lines = buf.split('\n');
          buf = lines.pop();
          lines.forEach(function (l) { if (l) searchLine(JSON.parse(l), status); });
          return pump();
        });
      };
      return pump();
    }).catch(function (e) {
      if (e.name !== 'AbortError') status.textContent = 'search failed: ' + e.message;
    });
  }

  function searchLine(l, status) {
    if (l.done) {
      var words = 'searched ' + l.states + ' states, up to ' + l.depth + ' steps ahead';
      if (l.cut_short) words += '; ' + l.cut_short + ' action' + (l.cut_short > 1 ? 's' : '') + ' cut short by the budget';
      if (l.stopped) words += ' (' + l.stopped + ')';
      status.textContent = words;
      $('actions').setAttribute('data-search', 'done');
      return;
    }
    var li = document.querySelector('#actions li[data-index="' + l.index + '"]');
    if (!li) return;
    var v = li.querySelector('.verdict');
    li.setAttribute('data-steps', l.steps || 0);
    if (l.property) {
      v.className = 'verdict bad';
      v.textContent = '\u2717 ' + l.steps + (l.steps > 1 ? ' steps' : ' step') + ' to ' + l.property;
    } else if (l.complete) {
      v.className = 'verdict good';
      v.textContent = '\u2713 none within ' + l.depth;
    } else {
      v.className = 'verdict cut';
      v.textContent = '? cut short (' + l.stopped + ', ' + l.states + ' states)';
    }
  }

  // ---- replay on the implementation --------------------------------------

  // replay exports the path up to here and replays that file on the
  // implementation beside the model.
  function replay() {
    var path = prefix(), btn = $('replay');
    btn.disabled = true;
    document.body.setAttribute('data-replay', 'running');
    fetch($('export').href).then(function (r) {
      if (!r.ok) return r.json().then(function (b) { throw new Error(b.error); });
      return r.text();
    }).then(function (body) {
      return getJSON('/api/replay', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body });
    }).then(function (res) {
      replayed = { path: path, frames: res.frames, verdict: res.verdict, ok: res.ok, divergence: res.divergence };
      render();
      document.body.setAttribute('data-replay', res.ok ? 'ok' : 'diverged');
    }).catch(function (e) {
      showError(e);
      document.body.setAttribute('data-replay', 'failed');
    }).then(function () { btn.disabled = false; });
  }

  // ---- set-up ------------------------------------------------------------

  function onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0 }[e.key];
    if (to !== undefined) { e.preventDefault(); go(to); }
    if (e.key === 'v' || e.key === 'V') { var k = violationStep(); if (k) go(k); }
  }

  function start() {
    $('start').addEventListener('click', function () { go(0); });
    $('back').addEventListener('click', function () { go(at - 1); });
    $('forward').addEventListener('click', function () { go(at + 1); });
    $('to-violation').addEventListener('click', function () { go(violationStep()); });
    $('replay').addEventListener('click', replay);
    $('search').addEventListener('click', search);
    document.addEventListener('keydown', onKey);
    var q = new URLSearchParams(location.search);
    getJSON('/api/trace').then(function (t) {
      trace = { path: parsePath(t.path), steps: t.steps, violation: t.violation || 0, title: t.title };
      if (t.title) $('title').textContent = 'raftcheck explorer: ' + t.title;
    }).catch(function () { trace = null; }).then(function () {
      if (q.has('step') && trace) {
        full = trace.path.slice();
        return go(parseInt(q.get('step'), 10) || 0);
      }
      full = parsePath(q.get('path') || '');
      if (trace && !q.has('path')) { full = trace.path.slice(); return go(0); }
      return go(full.length);
    });
  }

  start();
})();
