// The Task Manager's only script (no build step). It localises times, refreshes the tasks table
// and the task page in place while something is pending or running (paused while the tab is
// hidden), and fills in the profiles' pending changes. Every page works without it.
"use strict";

const FORMAT = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
});

function localise(root) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) el.textContent = FORMAT.format(when);  // the UTC time stays in the title
  }
}

// Keep `box` (data-active="1" while its tasks may still move) fresh from `url`, every refresh_ms.
function keepFresh(box, url, replace) {
  const every = Number(document.body.dataset.refreshMs) || 3000;
  let timer = null;
  async function poll() {
    timer = null;
    if (document.hidden || box.dataset.active !== "1") return;
    try {
      const answer = await fetch(url(), {credentials: "same-origin", redirect: "manual"});
      if (!answer.ok) return;  // logged out or gone: stop; a reload shows why
      replace(await answer.text());
      box.dataset.active = answer.headers.get("X-Active") || "0";
      localise(box);
      box.dispatchEvent(new CustomEvent("refreshed", {bubbles: true}));
    } catch (e) {
      // the server is restarting: try again at the next turn
    }
    if (box.dataset.active === "1") timer = setTimeout(poll, every);
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && timer === null) poll();
  });
  if (box.dataset.active === "1") timer = setTimeout(poll, every);
}

async function fillStats(span) {
  try {
    const answer = await fetch(span.dataset.url, {credentials: "same-origin"});
    const data = await answer.json();
    span.textContent = answer.ok
      ? `${data.new} new · ${data.changed} changed · ${data.deleted} deleted`
      : (data.error || "unknown");
  } catch (e) {
    span.textContent = "unknown";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  localise(document);
  const table = document.getElementById("tasks");
  if (table) {
    const body = table.querySelector("tbody");
    keepFresh(table, () => "/tasks/rows" + location.search, (html) => { body.innerHTML = html; });
  }
  const live = document.getElementById("live");
  if (live) keepFresh(live, () => live.dataset.url, (html) => { live.innerHTML = html; });
  for (const span of document.querySelectorAll(".stats[data-url]")) fillStats(span);
});
