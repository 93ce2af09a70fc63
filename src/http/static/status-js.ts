// The status page's script, served as /static/status.js (the CSP allows scripts from 'self' only): refreshes <main> in place.
//
// Why it re-fetches the page rather than /api/v1/status: the server renders the page once, for
// browsers with and without JavaScript alike, so nothing is rendered twice and the two views
// cannot drift. The answer is parsed by DOMParser into an inert document (no script runs, no
// image loads there) and its <main> is moved in. What keeps report text from becoming markup is
// the server's escaping (the `html` tag of http/html.ts), which the tests attack with hostile
// error messages; the CSP (no inline script or handler, img-src 'none') is the second wall. The
// script itself only ever writes its own messages, with textContent.
export const STATUS_JS = `(function () {
  'use strict';
  var main = document.getElementById('status');
  var note = document.getElementById('refresh-note');
  var problem = document.getElementById('refresh-problem');
  if (!main || !note || !problem || typeof fetch !== 'function' || typeof DOMParser !== 'function') return;
  // The server writes the period into the page (10 s, or ?refresh=<seconds>).
  var seconds = Number(document.body.getAttribute('data-refresh-seconds'));
  if (!(seconds >= 1)) seconds = 10;
  var timer = 0;
  var busy = false;

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, seconds * 1000);
  }

  /** Moves the new <main> in, keeping each table's horizontal scroll and the focused element. */
  function swap(next) {
    var scrolled = {};
    var boxes = main.querySelectorAll('.scroll[id]');
    for (var i = 0; i < boxes.length; i++) scrolled[boxes[i].id] = boxes[i].scrollLeft;
    var focused = document.activeElement && main.contains(document.activeElement) ? document.activeElement.id : '';
    var adopted = document.adoptNode(next);
    main.replaceWith(adopted);
    main = adopted;
    for (var id in scrolled) {
      var box = document.getElementById(id);
      if (box && scrolled[id]) box.scrollLeft = scrolled[id];
    }
    if (focused) {
      var again = document.getElementById(focused);
      if (again) again.focus({ preventScroll: true });
    }
  }

  function refresh() {
    // A hidden tab polls nothing; it refreshes as soon as it is shown again.
    if (busy || document.hidden) return;
    busy = true;
    fetch(location.pathname + location.search, { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, 'text/html');
        var next = fresh.getElementById('status');
        if (!next || next.tagName !== 'MAIN') throw new Error('the answer holds no status');
        swap(next);
        document.title = fresh.title;
        note.textContent = 'This page updates itself every ' + seconds + ' s; last updated at ' + new Date().toLocaleTimeString() + '.';
        problem.textContent = '';
      })
      .catch(function (error) {
        problem.textContent = 'Could not update the page (' + (error && error.message ? error.message : String(error)) +
          '): what it shows may be out of date. Retrying every ' + seconds + ' s.';
      })
      .then(function () {
        busy = false;
        schedule();
      });
  }

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) refresh();
  });
  note.textContent = 'This page updates itself every ' + seconds + ' s.';
  schedule();
})();
`;
