/*
 * What the user does to the drawing: select a task (panel, paths, #task= in the
 * URL), collapse and expand groups, search, and the pointer on the canvas.
 */

import { showPanel } from "./panel.js";
import { draw, highlightPaths, showNode } from "./view.js";

export async function select(ctx, name) {
  const { model, state } = ctx;
  if (!model.has(name)) return;
  state.selected = name;
  if (model.reveal(name)) await draw(ctx, { focus: name });
  ctx.cy.elements().unselect();
  const node = ctx.cy.getElementById(name);
  node.select();
  showPanel(ctx, name);
  // The panel lies over the drawing's right side: the selected task is brought into the part left uncovered.
  showNode(ctx, node);
  highlightPaths(ctx, name);
  history.replaceState(null, "", `#task=${encodeURIComponent(name)}`);
}

export function clearSelection(ctx) {
  ctx.state.selected = null;
  if (ctx.cy) ctx.cy.elements().unselect();
  highlightPaths(ctx, null);
  ctx.panel.hidden = true;
  history.replaceState(null, "", window.location.pathname + window.location.search);
}

export function toggleGroup(ctx, name) {
  ctx.model.toggle(name);
  // A small flow is fitted again; on a big one the view stays on the group.
  const small = ctx.model.size <= 60;
  draw(ctx, small ? { fit: true } : { focus: name });
  if (ctx.state.selected === name) showPanel(ctx, name);
}

export function setAllCollapsed(ctx, collapse) {
  ctx.model.setAllCollapsed(collapse);
  draw(ctx, { fit: true });
}

/** Select the first task matching ``query`` and mark every match; return the matches. */
export function search(ctx, query) {
  const cy = ctx.cy;
  if (!cy) return [];
  cy.nodes().removeClass("match");
  const found = ctx.model.find(query);
  if (!query.trim()) return found;
  if (!found.length) {
    ctx.say(`No task matches “${query}”.`);
    return found;
  }
  ctx.say(found.length > 1 ? `${found.length} tasks match “${query}”.` : "");
  select(ctx, found[0]).then(() => {
    for (const name of found) ctx.cy.getElementById(ctx.model.rep.get(name)).addClass("match");
  });
  return found;
}

/** The pointer on a new drawing ``cy``. */
export function bindEvents(ctx, cy, big) {
  // Restyling every element on each hover is too slow on big drawings: there, paths
  // are highlighted for the selected task only.
  const hoverPaths = !big;
  cy.on("tap", "node", (event) => select(ctx, event.target.id()));
  cy.on("dbltap", "node", (event) => {
    if (ctx.model.isGroup(event.target.id())) toggleGroup(ctx, event.target.id());
  });
  cy.on("tap", (event) => {
    if (event.target === cy) clearSelection(ctx);
  });
  cy.on("mouseover", "node", (event) => {
    ctx.canvas.style.cursor = "pointer";
    if (hoverPaths) highlightPaths(ctx, event.target.id());
  });
  cy.on("mouseout", "node", () => {
    ctx.canvas.style.cursor = "";
    if (hoverPaths) highlightPaths(ctx, ctx.state.selected);
  });
}
