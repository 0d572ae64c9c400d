/*
 * The DAG drawing of a flow or a run (templates/admin/flowforge_admin/graph.html):
 * reads the page's data- attributes, fetches the JSON at data-data-url, builds the
 * model and the drawing and wires the toolbar. The modules share one context
 * (``ctx``) rather than globals; each module holds one concern:
 *
 *   model.js   the tasks, their tree and dependencies, collapsed groups (the walker)
 *   layout.js  ELK in a web worker; big flows open collapsed
 *   palette.js the colours, read from the CSS palette (admin.css)
 *   render.js  labels, elements and the cytoscape stylesheet
 *   view.js    (re)drawing, the viewport, path highlighting
 *   interaction.js, panel.js, legend.js, live.js, export.js
 *
 * cytoscape.min.js and elk-api.js are classic scripts (UMD globals) loaded before
 * this module. window.ffGraph exposes the drawing to the browser tests and the benchmark.
 */

import * as exporting from "./export.js";
import * as interaction from "./interaction.js";
import { opensCollapsed, Layout } from "./layout.js";
import { buildLegend, buildTable, fillNames } from "./legend.js";
import { poll, showRunStatus } from "./live.js";
import { GraphModel } from "./model.js";
import { onThemeChange } from "./palette.js";
import { nodeSize, stylesheet } from "./render.js";
import { draw, fitReadable } from "./view.js";

const root = document.getElementById("content-main");
const message = document.getElementById("ff-graph-status");
const model = new GraphModel();

const ctx = {
  root,
  canvas: document.getElementById("ff-graph-canvas"),
  panel: document.getElementById("ff-graph-panel"),
  view: root.dataset.view, // "flow" or "run"
  model,
  layout: new Layout(root.dataset.workerUrl),
  cy: null,
  state: {
    collapsed: model.collapsed,
    direction: "RIGHT",
    selected: null,
    box: null, // the drawing's extent, from ELK
    fetchedAt: null, // performance.now() marks for the benchmark: the JSON read,
    layoutMs: null,
    layoutByElk: null,
    buildMs: null,
    builtDuringLayout: null, // true: built while ELK worked, placed when its layout came
    drawnAt: null, // the drawing built (cytoscape paints it at the next frame)
    paintedAt: null, // ... and that frame
    layoutRuns: 0,
  },
  say(text) {
    message.textContent = text;
    message.hidden = !text;
  },
};
// The modules below call each other through these, not through imports going both ways.
ctx.commands = {
  select: (name) => interaction.select(ctx, name),
  toggleGroup: (name) => interaction.toggleGroup(ctx, name),
};
ctx.bindEvents = (cy, big) => interaction.bindEvents(ctx, cy, big);

const actions = {
  direction(button) {
    const state = ctx.state;
    state.direction = state.direction === "RIGHT" ? "DOWN" : "RIGHT";
    button.setAttribute("aria-pressed", String(state.direction === "DOWN"));
    button.textContent = state.direction === "DOWN" ? "Left to right" : "Top to bottom";
    draw(ctx, { fit: true });
  },
  "collapse-all": () => interaction.setAllCollapsed(ctx, true),
  "expand-all": () => interaction.setAllCollapsed(ctx, false),
  "zoom-in": () => zoomBy(1.25),
  "zoom-out": () => zoomBy(1 / 1.25),
  fit: () => fitReadable(ctx, 0),
  reset() {
    interaction.clearSelection(ctx);
    ctx.cy.nodes().removeClass("match");
    document.getElementById("ff-graph-search").value = "";
    fitReadable(ctx, 0);
  },
  png: () => exporting.download(exporting.pngBlob(ctx.cy), exporting.exportName(ctx, "png")),
  svg: () =>
    exporting.download(new Blob([exporting.svgText(ctx.cy)], { type: "image/svg+xml" }), exporting.exportName(ctx, "svg")),
  "close-panel": () => interaction.clearSelection(ctx),
};

function zoomBy(factor) {
  const cy = ctx.cy;
  cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
}

function wire() {
  root.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    // Until the drawing exists only the panel's close button has something to act on.
    if (button && actions[button.dataset.action] && (ctx.cy || button.dataset.action === "close-panel")) {
      actions[button.dataset.action](button);
    }
  });
  const input = document.getElementById("ff-graph-search");
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      interaction.search(ctx, input.value);
    }
  });
  input.addEventListener("change", () => interaction.search(ctx, input.value));
  const picker = document.getElementById("ff-graph-flow");
  if (picker) picker.addEventListener("change", () => (window.location.href = picker.value));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !ctx.panel.hidden) interaction.clearSelection(ctx);
  });
  // The stylesheet holds the palette's values, not references: rebuild it with the new theme's.
  onThemeChange(() => ctx.cy && ctx.cy.style(stylesheet()));
}

function fragmentTask() {
  const match = window.location.hash.match(/^#task=(.+)$/);
  return match ? decodeURIComponent(match[1]) : null;
}

async function start() {
  wire();
  const response = await fetch(root.dataset.dataUrl, { credentials: "same-origin" });
  if (!response.ok) {
    ctx.say(`The drawing could not be loaded (${response.status}).`);
    return;
  }
  model.load(await response.json());
  ctx.state.fetchedAt = performance.now();
  if (!model.size) {
    ctx.say(ctx.view === "run" ? "This run has no tasks." : "This flow has no tasks yet.");
    root.dataset.state = "empty";
    return;
  }
  if (opensCollapsed(model)) model.setAllCollapsed(true);
  buildLegend(ctx);
  fillNames(ctx);
  const wanted = fragmentTask();
  if (wanted && model.has(wanted)) model.reveal(wanted);
  await draw(ctx, { fit: true });
  // ELK's worker loads once the drawing is on screen, ready for the next layouts that need it.
  requestAnimationFrame(() => ctx.layout.start());
  if (wanted && model.has(wanted)) await interaction.select(ctx, wanted);
  document.getElementById("ff-graph-table-wrap").addEventListener("toggle", () => buildTable(ctx), { once: true });
  if (ctx.view === "run") {
    showRunStatus(ctx, model.data.run);
    if (!model.data.run.is_finished) poll(ctx);
  }
}

window.ffGraph = {
  state: ctx.state,
  get cy() {
    return ctx.cy;
  },
  search: (query) => interaction.search(ctx, query),
  select: (name) => interaction.select(ctx, name),
  toggleGroup: (name) => interaction.toggleGroup(ctx, name),
  setAllCollapsed: (collapse) => interaction.setAllCollapsed(ctx, collapse),
  pngBlob: () => exporting.pngBlob(ctx.cy),
  svgText: () => exporting.svgText(ctx.cy),
  draw: (options) => draw(ctx, options),
  // The layout of what is drawn, as the page would compute it (the tests compare the ways).
  layoutOf: ({ direction = ctx.state.direction, chains = true } = {}) =>
    ctx.layout.run(model.visibleGraph(), direction, (name) => nodeSize(model, ctx.view, name), { chains }),
};

start().catch((error) => {
  ctx.say(`The drawing failed: ${error.message}`);
  root.dataset.state = "error";
  throw error;
});
