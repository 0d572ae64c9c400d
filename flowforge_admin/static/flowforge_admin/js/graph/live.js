/*
 * A run's statuses, polled while it is not finished and restyled in place: no new
 * layout, so the user's zoom and pan stay.
 */

import { el, statusBadge } from "./dom.js";
import { STATUSES } from "./palette.js";
import { showPanel } from "./panel.js";
import { labelOf, stackData } from "./render.js";

function applyStatuses(ctx, statuses) {
  const { cy, model } = ctx;
  model.statuses = statuses;
  if (!cy) return;
  cy.batch(() => {
    cy.nodes().forEach((node) => {
      const status = statuses[node.id()];
      if (!status) return;
      for (const name of STATUSES) node.removeClass(`s-${name}`);
      node.addClass(`s-${status.status}`);
      node.data("label", labelOf(model, ctx.view, node.id()));
      if (node.hasClass("mapped")) node.data(stackData(model, ctx.view, node.id()));
    });
  });
  for (const cell of document.querySelectorAll("[data-status-of]")) {
    const status = statuses[cell.dataset.statusOf];
    if (status) cell.replaceChildren(statusBadge(status));
  }
  if (ctx.state.selected && !ctx.panel.hidden) showPanel(ctx, ctx.state.selected);
}

/** The run's own badge in the toolbar. */
export function showRunStatus(ctx, run) {
  const badge = document.getElementById("ff-graph-runstatus");
  if (badge) badge.replaceChildren(el("span", { className: `ff-status ff-status-${run.status}`, text: run.label }));
  ctx.root.dataset.runStatus = run.status;
}

/** Poll the statuses every data-poll-ms until the run is finished. */
export function poll(ctx) {
  const delay = Number(ctx.root.dataset.pollMs) || 1500;
  const tick = async () => {
    try {
      const response = await fetch(`${ctx.root.dataset.dataUrl}?statuses=1`, { credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        applyStatuses(ctx, data.statuses);
        showRunStatus(ctx, data.run);
        if (data.run.is_finished) return;
      }
    } catch (error) {
      // A dropped connection: try again at the next tick.
    }
    setTimeout(tick, delay);
  };
  setTimeout(tick, delay);
}
