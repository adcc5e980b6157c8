// live.js: what the live pages share: following a view's change stream
// (docs/serve.md, "Change streams") and writing values as text.
"use strict";

window.stepping = (function () {
  // token is the reader's token the page was opened with
  // (?access_token=, docs/serve.md "Safety"): EventSource and links send
  // no Authorization header, so they carry it in their query, and writes
  // send it as a header.
  const token = new URLSearchParams(location.search).get("access_token");

  // withToken returns url carrying the page's token, if it has one.
  function withToken(url) {
    if (!token) {
      return url;
    }
    return url + (url.indexOf("?") < 0 ? "?" : "&") + "access_token=" + encodeURIComponent(token);
  }

  // The server's links between pages carry the token on.
  if (token) {
    document.addEventListener("DOMContentLoaded", function () {
      for (const a of document.querySelectorAll("a[href]")) {
        if (a.origin === location.origin && !a.search.includes("access_token=")) {
          a.href = withToken(a.href);
        }
      }
    });
  }

  // follow opens the change stream at url and calls on.snapshot(step,
  // rows), on.changes(step, changes) and on.status(state), state being
  // "connecting", "live" or "reconnecting". After a dropped connection
  // the browser reconnects by itself with Last-Event-ID, the step of the
  // last event received, and the server sends the changes of the steps
  // after it: nothing is missed or applied twice. When the server refuses
  // to resume (410: those steps are no longer kept) or the stream fails,
  // EventSource gives up; a new one starts again from a snapshot, after a
  // pause that doubles up to half a minute.
  function follow(url, on) {
    let last = -1;
    let pause = 500;
    function open() {
      on.status("connecting");
      const es = new EventSource(withToken(url));
      es.addEventListener("open", function () { on.status("live"); });
      es.addEventListener("snapshot", function (e) {
        const d = JSON.parse(e.data);
        last = d.step;
        pause = 500;
        on.snapshot(d.step, d.rows);
        on.status("live");
      });
      es.addEventListener("changes", function (e) {
        const d = JSON.parse(e.data);
        if (d.step <= last) {
          return; // a step already applied: never count a change twice
        }
        last = d.step;
        on.changes(d.step, d.changes);
      });
      es.addEventListener("error", function () {
        on.status("reconnecting");
        if (es.readyState === EventSource.CLOSED) {
          es.close();
          last = -1;
          setTimeout(open, pause);
          pause = Math.min(pause * 2, 30000);
        }
      });
    }
    open();
  }

  // text is a value as a table cell shows it: strings as they are, the
  // rest (numbers, booleans, arrays, records, jsonb) as JSON.
  function text(v) {
    return typeof v === "string" ? v : JSON.stringify(v);
  }

  // param is a value in the form a query string names it by: its text
  // form as the API writes it (10, tv, 12.50).
  function param(v) {
    return v === null || v === undefined ? "" : text(v);
  }

  const numberTypes = /^(int2|int4|int8|float4|float8|numeric)/;

  // isNumber says whether a column's type is a number type.
  function isNumber(type) {
    return numberTypes.test(type);
  }

  // compare orders two values of a column's type as the API orders
  // rows: numbers by value, NULL last, the rest by their text.
  function compare(a, b, type) {
    if (a === b) {
      return 0;
    }
    if (a === null || a === undefined) {
      return 1;
    }
    if (b === null || b === undefined) {
      return -1;
    }
    if (isNumber(type)) {
      const x = Number(a), y = Number(b);
      if (x !== y && !isNaN(x) && !isNaN(y)) {
        return x < y ? -1 : 1;
      }
    }
    const s = text(a), t = text(b);
    return s < t ? -1 : s > t ? 1 : 0;
  }

  // showStatus writes the stream's state into el.
  function showStatus(el, state) {
    el.textContent = state;
    el.className = "status " + state;
  }

  return { token: token, withToken: withToken, follow: follow, text: text, param: param, isNumber: isNumber, compare: compare, showStatus: showStatus };
})();
