// view.js: /views/{view}, the view's rows kept up to date from its
// change stream. A step that retracts a row and inserts one with the
// same key updates that row in place; changed rows are marked with the
// class "changed" for two seconds. Values go in as text, never markup.
"use strict";

(function () {
  const main = document.getElementById("live");
  const meta = JSON.parse(main.dataset.meta);
  const cols = meta.columns;
  const tbody = document.getElementById("rows");
  const status = document.getElementById("status");
  const count = document.getElementById("count");
  const stepEl = document.getElementById("step");
  // trs holds each row's table rows by the row's identity (all its
  // values): a view may hold a row more than once.
  const trs = new Map();
  let size = 0;

  function ident(row) {
    return JSON.stringify(cols.map(function (c) { return row[c.name]; }));
  }

  function keyOf(row) {
    if (meta.key.length === 0) {
      return null;
    }
    return JSON.stringify(meta.key.map(function (k) { return row[k]; }));
  }

  // order sorts by the key, then by every column.
  const orderCols = meta.key.map(function (k) {
    return cols.find(function (c) { return c.name === k; });
  }).concat(cols);

  function order(a, b) {
    for (const c of orderCols) {
      const d = stepping.compare(a[c.name], b[c.name], c.type);
      if (d !== 0) {
        return d;
      }
    }
    return 0;
  }

  function fill(tr, row) {
    tr.replaceChildren();
    for (const c of cols) {
      const td = document.createElement("td");
      const v = row[c.name];
      if (v === null || v === undefined) {
        td.className = "null";
        td.textContent = "NULL";
      } else {
        td.textContent = stepping.text(v);
        if (stepping.isNumber(c.type)) {
          td.className = "num";
        }
      }
      tr.append(td);
    }
    if (meta.page) {
      const td = document.createElement("td");
      const a = document.createElement("a");
      const q = new URLSearchParams();
      for (const k of meta.page) {
        q.set(k, stepping.param(row[k]));
      }
      a.href = stepping.withToken(main.dataset.pages + encodeURIComponent(meta.view) + "?" + q.toString());
      a.textContent = "page";
      td.append(a);
      tr.append(td);
    }
    tr.row = row;
    tr.dataset.key = keyOf(row) ?? ident(row);
  }

  function add(row) {
    const tr = document.createElement("tr");
    fill(tr, row);
    remember(tr);
    return tr;
  }

  function remember(tr) {
    const id = ident(tr.row);
    const list = trs.get(id);
    if (list) {
      list.push(tr);
    } else {
      trs.set(id, [tr]);
    }
    size++;
  }

  function forget(row) {
    const id = ident(row);
    const list = trs.get(id);
    if (!list) {
      return null;
    }
    const tr = list.pop();
    if (list.length === 0) {
      trs.delete(id);
    }
    size--;
    return tr;
  }

  // place puts a new row where the order says, after its equals: a
  // binary search of the rows, which are in order.
  function place(tr) {
    const shown = tbody.children;
    let lo = 0, hi = shown.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(tr.row, shown[mid].row) < 0) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    tbody.insertBefore(tr, shown[lo] ?? null);
  }

  function mark(tr, step) {
    tr.dataset.step = step;
    tr.classList.remove("changed");
    void tr.offsetWidth; // restart the highlight's transition
    tr.classList.add("changed");
    clearTimeout(tr.unmark);
    tr.unmark = setTimeout(function () { tr.classList.remove("changed"); }, 2000);
  }

  function summary(step) {
    count.textContent = size + (size === 1 ? " row" : " rows");
    stepEl.textContent = "at step " + step;
    main.dataset.step = step;
  }

  function snapshot(step, rows) {
    trs.clear();
    size = 0;
    rows.sort(order);
    const all = document.createDocumentFragment();
    for (const row of rows) {
      all.append(add(row));
    }
    tbody.replaceChildren(all);
    summary(step);
  }

  function changes(step, changes) {
    const freed = new Map(); // key -> rows retracted this step
    const loose = [];
    const added = [];
    for (const ch of changes) {
      for (let i = 0; i < Math.abs(ch.weight); i++) {
        if (ch.weight > 0) {
          added.push(ch.row);
          continue;
        }
        const tr = forget(ch.row);
        if (!tr) {
          continue; // not shown: nothing to take away
        }
        const k = keyOf(ch.row);
        if (k === null) {
          loose.push(tr);
        } else if (freed.has(k)) {
          freed.get(k).push(tr);
        } else {
          freed.set(k, [tr]);
        }
      }
    }
    for (const row of added) {
      const k = keyOf(row);
      const reuse = k !== null && freed.has(k) ? freed.get(k).pop() : undefined;
      let tr = reuse;
      if (tr) {
        fill(tr, row); // same key, same place
        remember(tr);
      } else {
        tr = add(row);
        place(tr);
      }
      mark(tr, step);
    }
    for (const list of freed.values()) {
      loose.push.apply(loose, list);
    }
    for (const tr of loose) {
      tr.remove();
    }
    summary(step);
  }

  stepping.follow(main.dataset.api + "views/" + encodeURIComponent(meta.view) + "/changes", {
    snapshot: snapshot,
    changes: changes,
    status: function (s) { stepping.showStatus(status, s); },
  });
})();
