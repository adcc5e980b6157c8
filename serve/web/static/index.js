// index.js: the index's forms, each inserting one row into a table
// through POST /api/tables/{table}. A field's text goes as a string
// (the API reads numbers and numerics from their text form), a checkbox
// as a boolean, an empty field of a nullable column as NULL, and the
// text of a jsonb, array or record column as the JSON it holds.
"use strict";

(function () {
  function structured(type) {
    return type === "jsonb" || type.endsWith("]") || type.startsWith("{");
  }

  function row(form) {
    const r = {};
    for (const input of form.querySelectorAll("input[name]")) {
      const type = input.dataset.type;
      if (input.type === "checkbox") {
        r[input.name] = input.checked;
      } else if (input.value === "" && "nullable" in input.dataset) {
        r[input.name] = null;
      } else if (structured(type)) {
        try {
          r[input.name] = JSON.parse(input.value);
        } catch (e) {
          throw new Error(input.name + ": not JSON: " + e.message);
        }
      } else {
        r[input.name] = input.value;
      }
    }
    return r;
  }

  async function submit(form, out) {
    let body;
    try {
      body = JSON.stringify([row(form)]);
    } catch (e) {
      return ["error", e.message];
    }
    const headers = { "Content-Type": "application/json" };
    if (stepping.token) {
      headers.Authorization = "Bearer " + stepping.token;
    }
    const resp = await fetch(form.action, {
      method: "POST",
      headers: headers,
      body: body,
    });
    const answer = await resp.json().catch(function () { return null; });
    if (resp.ok && answer) {
      return ["ok", "inserted " + answer.rows + (answer.rows === 1 ? " row" : " rows") + ", visible from step " + answer.step];
    }
    if (answer && answer.error) {
      return ["error", answer.error.message];
    }
    return ["error", resp.status + " " + resp.statusText];
  }

  for (const form of document.querySelectorAll("form.insert")) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      const out = form.querySelector("output");
      out.className = "";
      out.textContent = "…";
      submit(form, out).then(function (r) {
        out.className = r[0];
        out.textContent = r[1];
      }, function (e) {
        out.className = "error";
        out.textContent = e.message;
      });
    });
  }
})();
