/*
 * The drawing's text companions: the legend over the canvas, the accessible table
 * of tasks (the drawing's text alternative) and the search box's list of names.
 */

import { el, statusBadge } from "./dom.js";
import { marksOf } from "./palette.js";

export function buildLegend(ctx) {
  const items = [];
  if (ctx.view === "run") {
    for (const entry of ctx.model.data.legend) {
      const { icon, border } = marksOf(entry.status);
      // The palette's classes (admin.css): the legend follows a theme switch by itself.
      const swatch = el("span", { className: `ff-graph-swatch ff-status-${entry.status}`, text: icon, "aria-hidden": "true" });
      swatch.style.borderStyle = border;
      items.push(el("li", {}, swatch, entry.label));
    }
  }
  items.push(el("li", {}, el("span", { className: "ff-graph-swatch ff-graph-swatch-group", "aria-hidden": "true" }), "group"));
  items.push(
    el(
      "li",
      {},
      el("span", { className: "ff-graph-swatch ff-graph-swatch-collapsed", "aria-hidden": "true", text: "▸" }),
      "collapsed group (double-click)",
    ),
  );
  if (ctx.model.data.tasks.some((task) => task.map_over)) {
    const stack = el("span", { className: "ff-graph-swatch ff-graph-swatch-mapped", "aria-hidden": "true" });
    items.push(el("li", {}, stack, ctx.view === "run" ? "mapped task (×instances, their statuses)" : "mapped task"));
  }
  document.getElementById("ff-graph-legend").replaceChildren(...items);
}

/** The table of tasks; run pages mark each status cell for live updates (live.js). */
export function buildTable(ctx) {
  const { model } = ctx;
  const rows = model.data.tasks.map((task) => {
    const button = el("button", {
      type: "button",
      className: "ff-graph-linkbutton",
      text: task.label,
      onclick: () => ctx.commands.select(task.name),
    });
    const cells = [
      el("th", { scope: "row" }, button, " ", el("code", { className: "ff-muted", text: task.name })),
      el("td", { text: task.parent || "—" }),
      el("td", { text: model.upstreamOf(task.name).join(", ") || "—" }),
      el("td", { text: model.downstreamOf(task.name).join(", ") || "—" }),
    ];
    if (ctx.view === "run") {
      const status = model.statuses[task.name];
      cells.push(el("td", { "data-status-of": task.name }, status ? statusBadge(status) : "—"));
    }
    return el("tr", {}, ...cells);
  });
  document.querySelector("#ff-graph-table tbody").replaceChildren(...rows);
}

/** The search box's suggestions (the first 2 000 names: a longer list only slows the browser). */
export function fillNames(ctx) {
  const options = ctx.model.data.tasks.slice(0, 2000).map((task) => el("option", { value: task.name }, task.label));
  document.getElementById("ff-graph-names").replaceChildren(...options);
}
