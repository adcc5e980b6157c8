// page.js: /pages/{view}?{key}={value}, the html column of the rows the
// query names, replaced whenever one of them changes. The html is the
// program's markup: the program escapes the user text in it
// (html_escape), and the page's Content-Security-Policy keeps any
// script in it from running.
"use strict";

(function () {
  const main = document.getElementById("page");
  const meta = JSON.parse(main.dataset.meta);
  const status = document.getElementById("status");
  const names = Object.keys(meta.params).sort();
  let rows = []; // the rows the query names, in the order they came

  function matches(row) {
    return names.every(function (n) { return stepping.param(row[n]) === meta.params[n]; });
  }

  function same(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  function render(step) {
    if (rows.length === 0) {
      const p = document.createElement("p");
      p.className = "missing";
      p.textContent = meta.view + " has no row where " +
        names.map(function (n) { return n + " = " + meta.params[n]; }).join(" and ") + ".";
      main.replaceChildren(p);
    } else {
      main.innerHTML = rows.map(function (r) { return r.html ?? ""; }).join("\n");
    }
    main.dataset.step = step;
    const h1 = main.querySelector("h1");
    document.title = (h1 ? h1.textContent : meta.view) + " · stepping";
  }

  function snapshot(step, all) {
    rows = all.filter(matches);
    render(step);
  }

  function changes(step, changes) {
    let touched = false;
    for (const ch of changes) {
      if (!matches(ch.row)) {
        continue;
      }
      touched = true;
      for (let i = 0; i < Math.abs(ch.weight); i++) {
        if (ch.weight > 0) {
          rows.push(ch.row);
          continue;
        }
        const at = rows.findIndex(function (r) { return same(r, ch.row); });
        if (at >= 0) {
          rows.splice(at, 1);
        }
      }
    }
    if (touched) {
      render(step);
    }
  }

  stepping.follow(main.dataset.api + "views/" + encodeURIComponent(meta.view) + "/changes", {
    snapshot: snapshot,
    changes: changes,
    status: function (s) { stepping.showStatus(status, s); },
  });
})();
