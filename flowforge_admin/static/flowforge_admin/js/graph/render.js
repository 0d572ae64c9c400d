/*
 * What cytoscape.js draws: each node's label and size, the elements of a laid-out
 * visible graph, and the stylesheet (its colours read from the CSS palette, so it
 * is rebuilt when the theme changes). cytoscape.min.js is a classic script loaded
 * before the modules and read from window.
 */

import { detours } from "./layout.js";
import { STATUSES, marksOf, statusColours, themeColours } from "./palette.js";
import { BAR_ROOM, stackStyle } from "./stack.js";

// Above this many drawn elements cytoscape trades detail for speed while moving.
const BIG_GRAPH = 1500;

/** Is ``name`` a mapped task (drawn as one node, a stack, whatever its number of instances)? */
export function isMapped(model, name) {
  return Boolean(model.tasks.get(name).map_over);
}

/** A node's label: a collapsed group's size, a run's status icon, label and attempt. */
export function labelOf(model, view, name) {
  const task = model.tasks.get(name);
  let label = task.label;
  if (model.collapsed.has(name)) label = `▸ ${label}  (${model.descendantCount(name)})`;
  const status = model.statuses[name];
  if (view === "run" && status) {
    const { icon } = marksOf(status.status);
    let line = `${icon} ${status.label}`;
    if (status.instances) {
      // A mapped task is one node: the number of its instances (the panel lists them).
      // Its own row's attempt means nothing: each instance has its own.
      line += `  ·  ×${status.instances.count}`;
    } else if (status.attempt > 0 && status.max_attempts > 1) {
      // The attempt badge: only once a task may be (or was) tried more than once.
      line += `  ·  try ${status.attempt}/${status.max_attempts}`;
    }
    label = model.isGroup(name) && !model.collapsed.has(name) ? `${label}  ${icon}` : `${label}\n${line}`;
  } else if (view !== "run" && task.map_over) {
    label = `${label}\n× each item of ${task.map_over}`;
  }
  return label;
}

/** The instances' count per status, drawn as the mapped node's bar; null without instances. */
function barOf(model, view, name) {
  const status = model.statuses[name];
  if (view !== "run" || !status || !status.instances || !status.instances.count) return null;
  return status.instances.by_status;
}

/** A leaf's box, from its label (about 7.2px a character at 12px); a mapped task's has room for its bar. */
export function nodeSize(model, view, name) {
  const lines = labelOf(model, view, name).split("\n");
  const longest = Math.max(...lines.map((line) => line.length));
  const size = { width: Math.max(110, Math.min(320, 24 + longest * 7.2)), height: lines.length > 1 ? 50 : 36 };
  if (view === "run" && isMapped(model, name)) {
    size.width = Math.max(size.width, 150);
    size.height += BAR_ROOM;
  }
  return size;
}

/** The data a mapped node's stack and bar are drawn from (stack.js); refreshed at each poll. */
export function stackData(model, view, name) {
  const status = model.statuses[name];
  return { status: view === "run" && status ? status.status : null, bar: barOf(model, view, name) };
}

/**
 * Cytoscape's elements for the visible ``graph`` at the layout's ``positions``: nodes, then
 * edges. Without ``positions`` (null) nothing is placed yet, and no edge is a detour: see
 * placeElements.
 */
export function elements(model, view, graph, positions, direction) {
  const items = [];
  for (const node of graph.nodes) {
    const classes = [];
    if (node.compound) classes.push("group");
    if (model.collapsed.has(node.name)) classes.push("collapsed");
    const status = model.statuses[node.name];
    if (view === "run" && status) classes.push(`s-${status.status}`);
    const data = { id: node.name, label: labelOf(model, view, node.name), ...nodeSize(model, view, node.name) };
    if (!node.compound && isMapped(model, node.name)) {
      classes.push("mapped");
      Object.assign(data, stackData(model, view, node.name));
    }
    // A group's label sits above its top-left corner: cytoscape can only place it left of
    // the box, so it is pushed right by about its own width (measured: ~5.6px a character).
    if (node.compound) data.labelShift = Math.round(data.label.length * 5.6) + 4;
    if (node.parent && model.rep.get(node.parent) === node.parent) data.parent = node.parent;
    items.push({ group: "nodes", data, classes: classes.join(" "), position: positions ? positions[node.name] : undefined });
  }
  const detour = positions ? detours(items, positions, direction) : () => null;
  for (const edge of graph.edges) {
    const item = {
      group: "edges",
      data: { id: `${edge.source}\u2192${edge.target}`, source: edge.source, target: edge.target },
      classes: edge.count > 1 ? "merged" : "",
    };
    const route = detour(edge);
    if (route) {
      // Mapped from the data by the stylesheet: a style given to an element (a bypass) is
      // slower to apply, and cytoscape warns in the console for each one.
      item.classes += " detour";
      Object.assign(item.data, route);
    }
    items.push(item);
  }
  return items;
}

/**
 * Place the elements of ``cy`` built without positions (elements(..., null, ...)) where the
 * layout puts them, and route the detours. ``nodeItems``: the nodes' elements (their sizes).
 */
export function placeElements(cy, nodeItems, positions, direction) {
  for (const node of cy.nodes()) {
    const at = positions[node.id()];
    if (at) node.position(at);
  }
  const detour = detours(nodeItems, positions, direction);
  for (const edge of cy.edges()) {
    const route = detour({ source: edge.data("source"), target: edge.data("target") });
    if (route) edge.data(route).addClass("detour");
  }
}

function statusRules(fg) {
  return STATUSES.map((status) => {
    const colours = statusColours(status);
    return {
      selector: `node.s-${status}`,
      style: {
        "background-color": colours.fill,
        color: colours.text,
        "border-style": marksOf(status).border,
        "border-color": fg,
        "border-width": status === "failed" ? 4 : 1.5,
      },
    };
  });
}

/** An expanded group in a run: a tint and a border of its status, so that its tasks stay readable. */
function groupStatusRules(fg) {
  return STATUSES.map((status) => {
    const { fill } = statusColours(status);
    return {
      selector: `node.group.s-${status}`,
      style: {
        "background-color": fill,
        "background-opacity": 0.16,
        "border-color": fill,
        "border-width": 3,
        color: fg,
      },
    };
  });
}

/** The stylesheet in the current theme's colours. */
export function stylesheet() {
  const { fg, bg, quiet, border, darkened, accent, match } = themeColours();
  return [
    {
      selector: "node",
      style: {
        shape: "round-rectangle",
        width: "data(width)",
        height: "data(height)",
        label: "data(label)",
        "text-valign": "center",
        "text-halign": "center",
        "text-wrap": "wrap",
        "text-max-width": 300,
        // Double quotes: cytoscape refuses a font-family with single ones (and used its default).
        "font-family": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
        "font-size": 12,
        "min-zoomed-font-size": 7,
        color: fg,
        "background-color": bg,
        "border-width": 1.5,
        "border-color": accent,
        // Explicit depths: "auto" makes cytoscape walk every element's parents at each
        // comparison of its z-sort (seconds at 5 000 tasks). Groups below, the rest on top.
        "z-compound-depth": "top",
      },
    },
    {
      selector: "node.group",
      style: {
        "z-compound-depth": "bottom",
        shape: "round-rectangle",
        "background-color": darkened,
        "background-opacity": 0.7,
        "border-color": border,
        "border-style": "dashed",
        "border-width": 1.5,
        // Above the box's left end, in the room ELK leaves for it (elk.padding top),
        // clear of the edges, which meet a group in the middle of a side.
        "text-valign": "top",
        "text-halign": "left",
        "text-margin-x": "data(labelShift)",
        "text-margin-y": -3,
        "font-weight": "bold",
        color: quiet,
        padding: 14,
      },
    },
    {
      selector: "node.collapsed",
      style: {
        "border-width": 3,
        "border-style": "double",
        "border-color": accent,
        "font-weight": "bold",
        "background-color": darkened,
      },
    },
    {
      selector: "edge",
      style: {
        width: 1.5,
        // Edges are merged (one per pair of nodes) and a DAG has no loops: straight lines
        // look the same as bezier curves and are cheaper to build and draw.
        "curve-style": "straight",
        "line-color": quiet,
        "target-arrow-color": quiet,
        "target-arrow-shape": "triangle",
        "arrow-scale": 1,
        opacity: 0.8,
        "z-compound-depth": "top",
      },
    },
    { selector: "edge.merged", style: { width: 3 } },
    {
      selector: "edge.detour",
      style: {
        "curve-style": "segments",
        "edge-distances": "node-position",
        "segment-distances": "data(distances)",
        "segment-weights": "data(weights)",
      },
    },
    ...statusRules(fg),
    ...groupStatusRules(fg),
    {
      selector: "node.mapped",
      style: {
        ...stackStyle({ fg, bg, accent, statuses: Object.fromEntries(STATUSES.map((s) => [s, statusColours(s).fill])) }),
        // The label rises above the bar.
        "text-margin-y": (ele) => (ele.data("bar") ? -BAR_ROOM / 2 : 0),
      },
    },
    { selector: ".faded", style: { opacity: 0.22 } },
    { selector: "edge.path", style: { "line-color": accent, "target-arrow-color": accent, width: 2.5, opacity: 1 } },
    { selector: "node.path", style: { "border-color": accent, "border-width": 3 } },
    { selector: "node.match", style: { "underlay-color": match, "underlay-opacity": 0.9, "underlay-padding": 8 } },
    {
      selector: "node:selected",
      style: { "overlay-color": accent, "overlay-opacity": 0.18, "border-color": accent, "border-width": 4 },
    },
  ];
}

/** Is a drawing of ``count`` elements big enough to trade detail for speed? */
export function isBig(count) {
  return count > BIG_GRAPH;
}

/**
 * Stop ``cy``'s canvas renderer trying its layered texture cache (cytoscape internals,
 * 3.34; a no-op if they change). A big drawing is wider than the largest layer it may make
 * (32 767 px), yet it measured the whole drawing at each frame to find that out: panning a
 * 5 000-task drawing ran at 30 fps instead of 60. Drawings built on screen kept it off by
 * chance (their element textures, still being made, invalidated it at every frame).
 */
export function withoutLayers(cy) {
  const layers = cy.renderer() && cy.renderer().data && cy.renderer().data.lyrTxrCache;
  if (layers && typeof layers.getLayers === "function") layers.getLayers = () => null;
}

/**
 * A cytoscape instance showing ``items`` at their preset positions: in ``container``, or
 * without one (headless, styled) to be filled in slices and mounted when complete.
 */
export function createCy(container, items, big) {
  const options = {
    minZoom: 0.02,
    maxZoom: 3,
    wheelSensitivity: 0.3,
    boxSelectionEnabled: false,
    autoungrabify: true,
    textureOnViewport: big,
    hideEdgesOnViewport: big,
    motionBlur: false,
    pixelRatio: big ? 1 : "auto",
  };
  if (container) {
    return window.cytoscape({ ...options, container, elements: items, style: stylesheet(), layout: { name: "preset", fit: true, padding: 30 } });
  }
  const cy = window.cytoscape({ ...options, headless: true, styleEnabled: true });
  // Not the style option: cy.mount() would style every element again with that.
  cy.style(stylesheet());
  return cy;
}
