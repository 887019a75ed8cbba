// The Categories page (docs/categories.md): edit a mapping cell in place (saved as one row, against
// the version read: a change made meanwhile elsewhere is shown, never overwritten), type-ahead over
// the column's taxonomy (searched on the server), map unmapped categories, accept suggestions,
// import a CSV, add a column, set and remove overrides. No build step; every change carries the
// session's CSRF token.
//
// Every change is sent where its control says: `data-method` and `data-action`, which the page
// renders only for a reader whose role may use that route (heartbeat/web/roles.py). A cell without
// them is not editable, and a viewer's page has none: it offers no editing at all.
"use strict";

const CSRF = document.body.dataset.csrf;
const NOTE_KEY = "heartbeat.categories.notice";

async function api(method, url, body, headers = {}) {
  const init = {method, credentials: "same-origin", headers: {"X-CSRF-Token": CSRF, ...headers}};
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    if (!init.headers["Content-Type"]) init.headers["Content-Type"] = "application/json";
  }
  const answer = await fetch(url, init);
  const text = await answer.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = {error: text}; }
  return {status: answer.status, ok: answer.ok, data};
}

// The change `control` stands for: its data-method to its data-action (or `action`, filled in from it).
function send(control, body, headers = {}, action = control.dataset.action) {
  return api(control.dataset.method, action, body, headers);
}

function notice(message, kind = "ok") {
  const box = document.getElementById("notice");
  if (!box) return;
  box.textContent = message;
  box.className = `flash ${kind}`;
  box.hidden = false;
}

// Reload the page (its tables are rendered on the server) and say `message` once it is back.
function reloadSaying(message) {
  sessionStorage.setItem(NOTE_KEY, message);
  location.reload();
}

function failed(result) {
  notice((result.data && result.data.error) || `refused (${result.status})`, "error");
}

// -- type-ahead ------------------------------------------------------------------------------------

let lists = 0;
function typeahead(input) {
  const list = document.createElement("datalist");
  list.id = `ta-${++lists}`;
  input.setAttribute("list", list.id);
  input.after(list);
  let timer = null, asked = "";
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const column = input.dataset.column || (document.getElementById("override-column") || {}).value;
      const q = input.value.trim();
      if (!column || q.length < 2 || q === asked) return;
      asked = q;
      const found = await api("GET", `/api/categories/taxonomy/${encodeURIComponent(column)}?q=${encodeURIComponent(q)}&limit=12`);
      if (!found.ok) return;
      list.replaceChildren(...found.data.map((c) => {
        const option = document.createElement("option");
        option.value = c.id;
        option.label = c.path;
        option.textContent = c.path;
        return option;
      }));
      input.dataset.suggested = String(found.data.length);
    }, 120);
  });
}

// -- the mapping table -----------------------------------------------------------------------------

function cellsOf(row) {
  const cells = {};
  for (const td of row.querySelectorAll("td.cell")) cells[td.dataset.column] = td.dataset.value || "";
  return cells;
}

function show(row, data) {
  row.dataset.version = data.version;
  for (const td of row.querySelectorAll("td.cell")) {
    const ident = data.cells[td.dataset.column] || "";
    const path = (data.paths && data.paths[td.dataset.column]) || "";
    td.dataset.value = ident;
    td.replaceChildren();
    if (!ident) {
      const none = document.createElement("span");
      none.className = "none";
      none.textContent = "–";
      td.append(none);
      continue;
    }
    const p = document.createElement("span");
    p.className = "path";
    p.textContent = path || ident;
    const i = document.createElement("span");
    i.className = "cid";
    i.textContent = ident;
    td.append(p, " ", i);
  }
}

// What another tab changed in `row`: "google is now 1604 (was 212)".
function changes(before, now) {
  if (!now) return "it was removed";
  const columns = new Set([...Object.keys(before), ...Object.keys(now.cells)]);
  const said = [];
  for (const c of columns) {
    const was = before[c] || "", is = now.cells[c] || "";
    if (was !== is) said.push(`${c} is now ${is || "empty"} (was ${was || "empty"})`);
  }
  return said.length ? said.join(", ") : "its version moved";
}

function edit(td) {
  if (td.querySelector("input")) return;
  const row = td.closest("tr");
  const before = td.innerHTML;
  const input = document.createElement("input");
  input.className = "typeahead";
  input.dataset.column = td.dataset.column;
  input.value = td.dataset.value || "";
  input.setAttribute("aria-label", `${td.dataset.column} of row ${row.dataset.row}`);
  input.autocomplete = "off";
  td.replaceChildren(input);
  typeahead(input);
  input.focus();
  input.select();
  const cancel = () => { td.innerHTML = before; };
  input.addEventListener("keydown", async (event) => {
    if (event.key === "Escape") { cancel(); return; }
    if (event.key !== "Enter") return;
    event.preventDefault();
    const seen = cellsOf(row);
    const cells = {...seen, [td.dataset.column]: input.value.trim()};
    const result = await send(td, {cells}, {"If-Match": row.dataset.version});
    if (result.ok) {
      show(row, result.data);
      notice(`Row ${row.dataset.row} saved: ${td.dataset.column} = ${result.data.cells[td.dataset.column] || "empty"}.`);
    } else if (result.status === 412) {
      const current = result.data.row;
      const what = changes(seen, current);
      if (current) show(row, {...current, paths: {}}); else row.remove();
      notice(`Row ${row.dataset.row} changed since this page read it: ${what}. Your edit ` +
             `(${td.dataset.column} = ${input.value.trim() || "empty"}) was not saved; the row now shows what is stored.`, "error");
    } else {
      failed(result);
    }
  });
  input.addEventListener("blur", () => { setTimeout(() => { if (td.contains(input) && document.activeElement !== input) cancel(); }, 200); });
}

// -- actions ---------------------------------------------------------------------------------------

async function accept(button, pairs) {
  const root = document.getElementById("categories");
  const result = await send(button, {profile: root.dataset.profile, accept: pairs});
  if (!result.ok) { failed(result); return; }
  const {rows, products} = result.data;
  reloadSaying(`${rows} row${rows === 1 ? "" : "s"} written; ${products} product${products === 1 ? "" : "s"} become${products === 1 ? "s" : ""} exportable.`);
}

function wire() {
  const said = sessionStorage.getItem(NOTE_KEY);
  if (said) { sessionStorage.removeItem(NOTE_KEY); notice(said); }
  for (const input of document.querySelectorAll("input.typeahead")) typeahead(input);
  const choice = document.getElementById("profile-choice");
  if (choice) choice.addEventListener("change", () => choice.form.submit());
  const table = document.getElementById("map-table");
  if (table) {
    table.addEventListener("click", (event) => {
      const td = event.target.closest("td.cell[data-action]");
      if (td && !event.target.closest("input")) edit(td);
    });
    table.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target.matches("td.cell[data-action]")) edit(event.target);
    });
  }
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const tr = button.closest("tr");
    if (button.matches(".map-one")) {
      const target = tr.querySelector("input").value.trim();
      if (target) await accept(button, [{category: Number(tr.dataset.category), target}]);
    } else if (button.matches(".accept-one")) {
      await accept(button, [{category: Number(tr.dataset.category), target: tr.querySelector("select").value}]);
    } else if (button.id === "accept-checked") {
      const pairs = [...document.querySelectorAll("#suggestions tbody tr")]
        .filter((r) => r.querySelector(".pick").checked)
        .map((r) => ({category: Number(r.dataset.category), target: r.querySelector("select").value}));
      if (pairs.length) await accept(button, pairs); else notice("Check the suggestions to accept first.", "error");
    } else if (button.matches(".remove-row")) {
      const result = await send(button, undefined, {"If-Match": tr.dataset.version});
      if (result.ok) reloadSaying(`Row ${tr.dataset.row} removed.`);
      else if (result.status === 412) notice(`Row ${tr.dataset.row} changed since this page read it (${changes(cellsOf(tr), result.data.row)}); it was not removed. Reload to see it.`, "error");
      else failed(result);
    } else if (button.id === "add-row") {
      document.getElementById("new-row").hidden = false;
    } else if (button.id === "save-row") {
      const cells = {};
      for (const input of tr.querySelectorAll("input")) if (input.value.trim()) cells[input.dataset.column] = input.value.trim();
      const result = await send(button, {cells});
      if (result.ok) reloadSaying(`Row ${result.data.id} added.`); else failed(result);
    } else if (button.id === "add-column") {
      const name = document.getElementById("new-column").value.trim();
      const result = await send(button, {name});
      if (result.ok) reloadSaying(`Column ${name} added.`); else failed(result);
    } else if (button.matches(".unset-override")) {
      const result = await send(button);
      if (result.ok) reloadSaying(`Product ${tr.dataset.product}: ${tr.dataset.column} override removed.`); else failed(result);
    } else if (button.id === "add-rule") {
      const fresh = document.createElement("tr");
      fresh.className = "rule";
      fresh.innerHTML = document.querySelector("#page-rules tfoot tr").innerHTML;
      document.querySelector("#page-rules tbody").append(fresh);
      for (const input of fresh.querySelectorAll("input.typeahead")) typeahead(input);
    } else if (button.matches(".rule-remove")) {
      tr.remove();
    } else if (button.matches(".rule-up") && tr.previousElementSibling) {
      tr.previousElementSibling.before(tr);
    } else if (button.matches(".rule-down") && tr.nextElementSibling) {
      tr.nextElementSibling.after(tr);
    } else if (button.id === "save-rules") {
      await saveRules(button);
    } else if (button.id === "set-override" || button.matches(".set-product")) {
      await setOverride(button, tr);
    }
  });
  document.addEventListener("change", (event) => {
    if (!event.target.matches(".rule-column")) return;
    event.target.closest("tr").querySelector(".rule-category").dataset.column = event.target.value;
  });
  const checkAll = document.getElementById("check-all");
  if (checkAll) checkAll.addEventListener("change", () => {
    for (const box of document.querySelectorAll("#suggestions .pick")) box.checked = checkAll.checked;
  });
  const file = document.getElementById("import-file");
  if (file) file.addEventListener("change", () => importFile(file));
  document.body.dataset.ready = "1";  // wired: what a test waits for before it acts
}

// The page's rules, in the table's order, as [[category_rules]] entries: empty criteria left out.
async function saveRules(button) {
  const rules = [...document.querySelectorAll("#page-rules tbody tr.rule")].map((tr) => {
    const rule = {column: tr.querySelector(".rule-column").value, category: tr.querySelector(".rule-category").value.trim()};
    for (const key of ["reference_prefix", "name_contains", "manufacturer_contains", "connection"]) {
      const value = tr.querySelector(`.rule-${key}`).value.trim();
      if (value) rule[key] = value;
    }
    const branch = tr.querySelector(".rule-shop_category").value.trim();
    if (branch) rule.shop_category = /^\d+$/.test(branch) ? Number(branch) : branch;
    return rule;
  });
  const result = await send(button, {rules});
  if (result.ok) reloadSaying(`${result.data.length} rule${result.data.length === 1 ? "" : "s"} saved.`);
  else failed(result);
}

async function setOverride(button, tr) {
  const root = document.getElementById("categories");
  let product, column, category, action = button.dataset.action;
  if (button.id === "set-override") {
    product = document.getElementById("override-product").value.trim();
    column = document.getElementById("override-column").value;
    category = document.getElementById("override-category").value.trim();
    action = action.replace("{product}", encodeURIComponent(product)).replace("{column}", encodeURIComponent(column));
  } else {
    product = tr.dataset.product;
    column = root.dataset.column;
    category = tr.querySelector("input").value.trim();
  }
  const result = await send(button, {category, connection: root.dataset.shop || null}, {}, action);
  if (!result.ok) { failed(result); return; }
  const message = `Product ${product}: ${column} category ${result.data.category}${result.data.path ? ` (${result.data.path})` : ""}.`;
  if (button.id === "set-override") reloadSaying(message); else notice(message);
}

async function importFile(input) {
  const chosen = input.files[0];
  if (!chosen) return;
  const errors = document.getElementById("import-errors");
  const result = await send(input, await chosen.text(), {"Content-Type": "text/csv"},
                            `${input.dataset.action}?name=${encodeURIComponent(chosen.name)}`);
  input.value = "";
  if (result.ok) { reloadSaying(`Mapping table: ${result.data.rows} rows imported from ${chosen.name}.`); return; }
  failed(result);
  errors.replaceChildren(...((result.data && result.data.errors) || []).map((line) => {
    const li = document.createElement("li");
    li.textContent = line;
    return li;
  }));
  errors.hidden = !errors.children.length;
}

document.addEventListener("DOMContentLoaded", wire);
