/*
 * The drawing on the page: (re)build it from the model (layout, then cytoscape),
 * place the viewport so that labels stay readable and nothing lies under the
 * legend or the panel, and highlight a task's paths. ``ctx`` is the page's shared
 * context built by main.js; the drawing is ``ctx.cy``.
 */

import { createCy, elements, isBig, nodeSize, placeElements, withoutLayers } from "./render.js";

// Above this many elements the drawing is built in slices of at most SLICE_MS (STEP elements
// at a time), a frame apart, into a cytoscape instance without a canvas (nothing is drawn
// meanwhile and the previous drawing stays), mounted when complete. The page's
// data-chunk-above attribute overrides it (the browser tests, to build small drawings so).
// A 1 000-task flow (~2 100 elements) is built so: in one piece its first paint took 0.5-0.9 s.
const CHUNK_ABOVE = 1500;
const SLICE_MS = 40;
const STEP = 25;
// Below this zoom labels are unreadable: a long flow opens at READABLE_ZOOM on its start instead.
const MIN_FIT_ZOOM = 0.45;
const READABLE_ZOOM = 0.8;

// Bumped by each draw: a layout that finishes after a newer draw started is thrown away.
let drawToken = 0;

function nextFrame() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// Style ``eles`` now (reading a style property applies a stale one), not all at the first paint.
function restyle(eles) {
  for (const ele of eles) ele.pstyle("width");
}

/**
 * ``work`` done on a cytoscape instance that nothing reads from meanwhile, without
 * cytoscape's spreading of stale style caches (cytoscape internals, 3.34; as is if they
 * change). Each style property applied to an element calls its ``dirtyStyleCache()``, which
 * with groups builds a collection of the element, its group, the group's tasks and all their
 * edges to clear their caches: most of building a big drawing (bench/README.md). Here only
 * the element's own cache is cleared; ``forgetStyleCaches`` clears every element's after.
 */
function withLocalStyleCaches(cy, work) {
  const elements = Object.getPrototypeOf(cy.collection());
  const spread = elements.dirtyStyleCache;
  if (typeof spread !== "function") return work();
  elements.dirtyStyleCache = function dirtyOwnStyleCache() {
    for (let i = 0; i < this.length; i++) this[i]._private.styleCache = null;
    return this;
  };
  try {
    return work();
  } finally {
    elements.dirtyStyleCache = spread;
  }
}

/** What withLocalStyleCaches did not clear: every element's cached style values (see there). */
function forgetStyleCaches(cy) {
  for (const ele of cy.elements()) if (ele._private) ele._private.styleCache = null;
}

/**
 * Call ``work`` on slices of ``items`` for at most SLICE_MS at a time, giving the page a frame
 * in between; false if a newer draw started meanwhile (the work is then abandoned).
 */
async function inSlices(items, work, ctx, token, tasks) {
  let start = 0;
  while (start < items.length) {
    const until = performance.now() + SLICE_MS;
    while (start < items.length && performance.now() < until) {
      work(items.slice(start, start + STEP));
      start += STEP;
    }
    ctx.say(`Drawing ${tasks} tasks… ${Math.round((100 * start) / items.length)} %`);
    await nextFrame();
    if (token !== drawToken) return false;
  }
  return true;
}

/**
 * A group's box from its tasks' (cytoscape does not work it out while batching, so the first
 * paint did it for every group, measuring every task again), innermost groups first.
 * Cytoscape internals (3.34): the flag marks it done, as cytoscape does outside a batch.
 */
function sizeGroup(group) {
  group.updateCompoundBounds(true);
  group._private.compoundBoundsClean = true;
}

/**
 * What the first paint asks of each element, worked out ahead: its box (label sizes, edge
 * ends) and whether it is visible and interactive (cached values that walk its groups).
 */
function measure(ele) {
  ele.boundingBox();
  ele.visible();
  ele.interactive();
}

/**
 * Measuring an element computes its rendered style, then marks it stale (cytoscape empties
 * the box cache it has just filled, which queues the element to be computed again at the
 * next paint, edges with their ends: ~0.3-0.5 s in one frame at 5 000 tasks). Nothing has
 * moved since: marked up to date (cytoscape internals, 3.34; skipped if they change).
 */
function measuredUpToDate(cy) {
  for (const ele of cy.elements()) {
    const rstyle = ele._private && ele._private.rstyle;
    if (!rstyle) return;
    rstyle.clean = true;
    rstyle.cleanConnected = true;
  }
}

/**
 * Build a big drawing without blocking the page: the elements are added and styled in
 * slices to a cytoscape instance without a canvas (the previous drawing stays meanwhile),
 * which is then mounted and measured in slices too before its first paint. Null if a
 * newer draw started meanwhile. ``place``: for elements built without positions, called
 * once they are added and styled; resolves when it has placed them (false: abandoned).
 */
async function buildInSlices(ctx, items, big, token, tasks, place = null) {
  // A frame first: the layout and the elements' data were worked out in this one (~40-60 ms
  // at 5 000 tasks), a first slice on top of them made it a frame of 100 ms.
  await nextFrame();
  if (token !== drawToken) return null;
  const cy = createCy(null, [], big);
  const add = (slice) => withLocalStyleCaches(cy, () => restyle(cy.add(slice)));
  const added = await inSlices(items, add, ctx, token, tasks);
  // Adding a group's tasks and edges marks the group's style stale: styled again here, in
  // slices too, so that the first paint after mounting has nothing left to style.
  const again = (slice) => withLocalStyleCaches(cy, () => restyle(slice));
  let styled = added && (await inSlices(cy.elements().toArray(), again, ctx, token, tasks));
  if (styled && place) {
    // Placing restyles the edges that become detours (a class added).
    styled = (await place(cy)) && (await inSlices(cy.edges(".detour").toArray(), again, ctx, token, tasks));
  }
  if (!styled) {
    cy.destroy();
    return null;
  }
  forgetStyleCaches(cy);
  if (ctx.cy) ctx.cy.destroy();
  cy.mount(ctx.canvas);
  if (big) withoutLayers(cy);
  // Cytoscape does not paint while batching: the groups' boxes, then every element's, are
  // worked out in slices first, else all in the first paint, a frame of half a second.
  cy.startBatch();
  ctx.cy = cy;
  const groups = cy.nodes(":parent").toArray().reverse();
  const sized = await inSlices(groups, (slice) => slice.forEach(sizeGroup), ctx, token, tasks);
  const measured = sized && (await inSlices(cy.elements().toArray(), (slice) => slice.forEach(measure), ctx, token, tasks));
  if (!measured) return null; // the newer draw destroys it
  measuredUpToDate(cy);
  // What else measuring queued for the next paint (texture caches to invalidate), then the
  // z-order, each in a task of its own.
  await beforePaint(cy, "flushRenderedStyleQueue");
  await beforePaint(cy, "getCachedZSortedEles");
  if (token !== drawToken) return null;
  cy.endBatch();
  return cy;
}

/**
 * A part of the first paint's work done ahead, in a task of its own (cytoscape internals,
 * 3.34; skipped if they change): ``step`` is the renderer's method.
 */
async function beforePaint(cy, step) {
  const renderer = cy.renderer();
  if (typeof renderer[step] === "function") renderer[step]();
  await nextFrame();
}

/** (Re)draw the visible graph; keep the viewport unless ``fit`` or nothing was drawn yet. */
export async function draw(ctx, { fit = false, focus = null } = {}) {
  const { model, state, root } = ctx;
  const token = ++drawToken;
  const graph = model.visibleGraph();
  ctx.say(graph.nodes.length > 400 ? `Laying out ${graph.nodes.length} tasks…` : "");
  root.dataset.state = "layout";
  const sizeOf = (name) => nodeSize(model, ctx.view, name);
  let viewport = null; // the drawing's on screen, kept unless ``fit``
  const count = graph.nodes.length + graph.edges.length; // the drawing's elements
  const big = isBig(count);
  const sliced = count > (Number(root.dataset.chunkAbove) || CHUNK_ABOVE);
  const laying = ctx.layout.run(graph, state.direction, sizeOf);
  laying.catch(() => {}); // may be awaited only after building: a failure is thrown there
  // Chains are placed at once; a layout that needs ELK takes a while in its worker: a big
  // drawing is then built meanwhile, unplaced, and placed when the layout arrives.
  let layout = sliced ? await Promise.race([laying, nextFrame().then(() => null)]) : await laying;
  // The layout's numbers in the state, unless a newer draw started meanwhile (then false).
  const taken = (result) => {
    if (token !== drawToken) return false;
    layout = result;
    viewport = ctx.cy && !fit ? { zoom: ctx.cy.zoom(), pan: ctx.cy.pan() } : null;
    Object.assign(state, { layoutMs: result.ms, layoutByElk: result.elk, box: result.box }); // elk false: all chains
    state.layoutRuns += 1;
    return true;
  };
  let cy;
  let built;
  state.builtDuringLayout = !layout; // only a sliced drawing does not wait for its layout
  if (layout && !taken(layout)) return;
  if (!sliced) {
    built = performance.now();
    if (ctx.cy) ctx.cy.destroy();
    cy = createCy(ctx.canvas, elements(model, ctx.view, graph, layout.positions, state.direction), big);
    ctx.cy = cy;
  } else if (layout) {
    built = performance.now();
    const items = elements(model, ctx.view, graph, layout.positions, state.direction);
    cy = await buildInSlices(ctx, items, big, token, graph.nodes.length);
  } else {
    const items = elements(model, ctx.view, graph, null, state.direction);
    const place = async (unplaced) => {
      ctx.say(`Laying out ${graph.nodes.length} tasks…`); // if ELK is not done yet
      if (!taken(await laying)) return false;
      built = performance.now();
      const nodes = items.filter((item) => item.group === "nodes");
      withLocalStyleCaches(unplaced, () => placeElements(unplaced, nodes, layout.positions, state.direction));
      // ~50 ms at 5 000 tasks: a frame before the next slice.
      await nextFrame();
      return token === drawToken;
    };
    cy = await buildInSlices(ctx, items, big, token, graph.nodes.length, place);
  }
  if (!cy) return; // a newer draw started meanwhile
  ctx.bindEvents(cy, big);
  // From the layout's end (a drawing built while ELK worked was mostly built by then).
  state.buildMs = Math.round(performance.now() - built);
  if (viewport) cy.viewport(viewport);
  else fitReadable(ctx);
  if (focus && cy.getElementById(focus).nonempty()) cy.center(cy.getElementById(focus));
  if (state.selected && cy.getElementById(state.selected).nonempty()) {
    cy.getElementById(state.selected).select();
    highlightPaths(ctx, state.selected);
  }
  ctx.say("");
  state.drawnAt = performance.now();
  // Cytoscape draws in its own animation-frame callback, registered before this one.
  requestAnimationFrame(() => (state.paintedAt = performance.now()));
  root.dataset.state = "drawn";
  root.dataset.nodes = String(cy.nodes().length);
  root.dataset.edges = String(cy.edges().length);
}

/** Fade everything but ``name``'s upstream and downstream paths (none: clear). */
export function highlightPaths(ctx, name) {
  const cy = ctx.cy;
  if (!cy) return;
  cy.batch(() => {
    cy.elements().removeClass("faded path");
    const node = name ? cy.getElementById(ctx.model.rep.get(name) || name) : null;
    if (!node || node.empty()) return;
    const path = node.predecessors().union(node.successors()).union(node);
    cy.elements().not(path).not(path.ancestors()).not(path.descendants()).addClass("faded");
    path.addClass("path");
  });
}

/**
 * The part of the canvas that nothing covers, in canvas pixels: the legend lies over its
 * bottom, the task panel (on wide screens) over its right side. Fitting and bringing a task
 * into view use this area, so no task ends up under either.
 */
function openArea(ctx) {
  const frame = ctx.canvas.getBoundingClientRect();
  const area = { x1: 0, y1: 0, x2: frame.width, y2: frame.height };
  const overlaps = (rect) =>
    rect.width && rect.left < frame.right && rect.right > frame.left && rect.top < frame.bottom && rect.bottom > frame.top;
  const legend = document.getElementById("ff-graph-legend").getBoundingClientRect();
  if (overlaps(legend)) area.y2 = Math.min(area.y2, legend.top - frame.top);
  const side = ctx.panel.hidden ? null : ctx.panel.getBoundingClientRect();
  if (side && overlaps(side)) area.x2 = Math.min(area.x2, side.left - frame.left);
  return area;
}

/**
 * Fit the drawing into the open area; if that makes it smaller than ``least`` (unreadable),
 * show its start at a readable zoom instead. The Fit button passes 0: the whole drawing.
 */
export function fitReadable(ctx, least = MIN_FIT_ZOOM) {
  const { cy, state } = ctx;
  // ELK's extent of the drawing: cytoscape's own (cy.fit) measures every label, ~0.1 s at 1 000 tasks.
  const box = state.box;
  const pad = 30;
  const area = openArea(ctx);
  const width = area.x2 - area.x1;
  const height = area.y2 - area.y1;
  const fitted = Math.min((width - 2 * pad) / box.w, (height - 2 * pad) / box.h, cy.maxZoom());
  // Centred where it fits, else from its start.
  const place = (size, start, from, room, zoom) =>
    from + (size * zoom < room ? (room - size * zoom) / 2 : pad) - start * zoom;
  const zoom = fitted >= least ? Math.max(fitted, cy.minZoom()) : READABLE_ZOOM;
  const fits = fitted >= least;
  const pan = {
    x: fits || state.direction !== "RIGHT" ? place(box.w, box.x1, area.x1, width, zoom) : area.x1 + pad - box.x1 * zoom,
    y: fits || state.direction === "RIGHT" ? place(box.h, box.y1, area.y1, height, zoom) : area.y1 + pad - box.y1 * zoom,
  };
  cy.viewport({ zoom, pan });
}

/** Bring ``node`` into the open area if it is not: the zoom stays, so labels stay readable. */
export function showNode(ctx, node) {
  const box = node.renderedBoundingBox();
  const area = openArea(ctx);
  if (box.x1 >= area.x1 && box.y1 >= area.y1 && box.x2 <= area.x2 && box.y2 <= area.y2) return;
  const zoom = ctx.cy.zoom();
  const at = node.position();
  const pan = { x: (area.x1 + area.x2) / 2 - at.x * zoom, y: (area.y1 + area.y2) / 2 - at.y * zoom };
  ctx.cy.animate({ pan, duration: 250 });
}
