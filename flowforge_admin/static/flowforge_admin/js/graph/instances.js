/*
 * A mapped task's instances in the panel: their count per status, and a list of them a
 * page at a time (50, from graph/instances/ under the run: admin/graph_instances.py), so
 * that a task of 1 000 instances costs the page what one of 3 does. The panel is redrawn
 * at each poll; the page shown is kept here and fetched again only when the counts change.
 */

import { el, statusBadge } from "./dom.js";
import { STATUSES } from "./palette.js";

// Per mapped task: the page's URL, the counts it was fetched at, its JSON or error.
const lists = new Map();

/** "40 instances: 18 succeeded, 3 failed, …", in the legend's order and words. */
export function instancesSummary(ctx, instances) {
  const labels = Object.fromEntries((ctx.model.data.legend || []).map((entry) => [entry.status, entry.label]));
  const { count, by_status: byStatus } = instances;
  const parts = STATUSES.filter((status) => byStatus[status]).map((status) => `${byStatus[status]} ${labels[status] || status}`);
  const total = `${count} ${count === 1 ? "instance" : "instances"}`;
  return parts.length ? `${total}: ${parts.join(", ")}` : total;
}

/** A duration in seconds as "0.4 s", "12 s", "3 min 5 s" or "2 h 10 min"; "—" without one. */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 0.01) return "< 0.01 s";
  if (seconds < 10) return `${seconds.toFixed(seconds < 1 ? 2 : 1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function table(data) {
  const rows = data.instances.map((entry) =>
    el(
      "tr",
      {},
      el("td", {}, el("a", { href: entry.log_url, text: `[${entry.index}]`, title: `${entry.name}: its log page` })),
      el("td", {}, statusBadge(entry)),
      el("td", { text: `${entry.attempt} of ${entry.max_attempts}` }),
      el("td", { className: "ff-graph-num", text: fmtDuration(entry.duration) }),
    ),
  );
  return el(
    "table",
    { className: "ff-graph-instances" },
    el(
      "thead",
      {},
      el("tr", {}, ...["Instance", "Status", "Attempt", "Duration"].map((text) => el("th", { scope: "col", text }))),
    ),
    el("tbody", {}, ...rows),
  );
}

function pager(ctx, name, data) {
  if (data.pages < 2) return null;
  const go = (url) => () => load(ctx, name, url);
  const button = (text, url) => el("button", { type: "button", className: "button", text, disabled: !url, onclick: url ? go(url) : null });
  return el(
    "p",
    { className: "ff-graph-pager" },
    button("‹ Previous", data.previous_url),
    el("span", { className: "ff-muted", text: ` Page ${data.page} of ${data.pages} ` }),
    button("Next ›", data.next_url),
  );
}

function fill(ctx, name) {
  const box = document.getElementById("ff-graph-instances");
  if (!box || box.dataset.instancesOf !== name) return;
  const list = lists.get(name);
  if (list.error) box.replaceChildren(el("p", { className: "ff-graph-error", text: list.error }));
  else if (!list.data) box.replaceChildren(el("p", { className: "ff-muted", text: "Loading the instances…" }));
  else box.replaceChildren(table(list.data), pager(ctx, name, list.data) || "");
  box.dataset.state = list.loading ? "loading" : "shown";
}

async function load(ctx, name, url) {
  const list = lists.get(name);
  list.url = url;
  list.loading = true;
  const token = (list.token = (list.token || 0) + 1);
  let data = null;
  let failure = null;
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    const body = await response.json().catch(() => ({}));
    if (response.ok) data = body;
    else failure = body.error || `The instances could not be loaded (${response.status}).`;
  } catch (error) {
    failure = "The instances could not be loaded: the server did not answer.";
  }
  if (token !== list.token) return; // a newer page was asked for meanwhile
  Object.assign(list, { loading: false, data: data || list.data, error: failure });
  fill(ctx, name);
}

/** The panel's "Instances" section of mapped task ``name`` (its list loads by itself). */
export function instancesSection(ctx, name, status) {
  const { instances } = status;
  if (!instances.count) {
    const upstream = ctx.model.tasks.get(name).map_over;
    return [el("h3", { text: "Instances" }), el("p", { className: "ff-muted", text: `None yet: they are made when ${upstream} has finished.` })];
  }
  const stamp = JSON.stringify(instances.by_status);
  let list = lists.get(name);
  if (!list) lists.set(name, (list = { url: instances.list_url, stamp: null }));
  const box = el("div", { id: "ff-graph-instances", className: "ff-graph-instances-box", "data-instances-of": name });
  const section = [el("h3", { text: "Instances" }), box];
  // Drawn at once from what is known; fetched again only once the counts changed.
  queueMicrotask(() => {
    fill(ctx, name);
    if (list.stamp !== stamp) {
      list.stamp = stamp;
      load(ctx, name, list.url);
    }
  });
  return section;
}
