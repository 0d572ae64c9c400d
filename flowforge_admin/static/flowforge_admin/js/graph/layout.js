/*
 * Where the visible nodes go. ELK's layered algorithm runs in a web worker (the
 * page stays responsive on thousands of tasks); elk-api.js is a classic script
 * loaded before the modules and read from window. Big flows open collapsed and
 * are laid out one group at a time (see elkGraph).
 */

// Above this many tasks the page opens with every group collapsed.
const COLLAPSE_ABOVE = 1000;
// Above this many drawn nodes ELK makes fewer crossing-minimisation sweeps and lays
// each group out on its own (see elkGraph).
const LARGE_LAYOUT = 500;
// The room between layers (ELK's spacing.nodeNodeBetweenLayers).
export const LAYER_GAP = 56;
// A group's room around its tasks (ELK's elk.padding; the top holds its label), and the
// whole drawing's (ELK's default).
const GROUP_PADDING = { top: 34, left: 14, bottom: 14, right: 14 };
const ROOT_PADDING = { top: 12, left: 12, bottom: 12, right: 12 };

/** A flow this big opens with its groups collapsed: ELK and cytoscape would take seconds. */
export function opensCollapsed(model) {
  return model.size > COLLAPSE_ABOVE;
}

function layoutOptions(direction, large) {
  return {
    "elk.algorithm": "layered",
    "elk.direction": direction,
    "elk.hierarchyHandling": "INCLUDE_CHILDREN",
    "elk.layered.spacing.nodeNodeBetweenLayers": String(LAYER_GAP),
    "elk.spacing.nodeNode": "22",
    // Fewer crossing-minimisation sweeps on big graphs: 2-3x faster, barely worse.
    "elk.layered.thoroughness": large ? "1" : "7",
    "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
    "elk.edgeRouting": "POLYLINE",
  };
}

/** The visible nodes' parents (among the visible nodes) and a node's chain up to the top. */
function lineage(graph) {
  const parentOf = new Map(graph.nodes.map((node) => [node.name, node.parent]));
  return (name) => {
    const chain = [name];
    while (parentOf.get(chain[chain.length - 1])) chain.push(parentOf.get(chain[chain.length - 1]));
    return chain.reverse();
  };
}

/**
 * Each edge lifted to the two siblings that contain its ends (task to task inside a group,
 * group to group between groups), with the group that holds them (null: the top level).
 * Null if the lifted edges make a cycle: then only the whole hierarchy at once draws it well.
 */
function liftedEdges(graph) {
  const chainOf = lineage(graph);
  const lifted = new Map();
  for (const edge of graph.edges) {
    const from = chainOf(edge.source);
    const to = chainOf(edge.target);
    let common = 0;
    while (common < from.length && common < to.length && from[common] === to[common]) common += 1;
    if (common === from.length || common === to.length) continue; // a group and its own task
    const key = `${from[common]}\u0000${to[common]}`;
    if (!lifted.has(key)) {
      lifted.set(key, { owner: common ? from[common - 1] : null, source: from[common], target: to[common] });
    }
  }
  const edges = [...lifted.values()];
  return isAcyclic(edges) ? edges : null;
}

/** Kahn's algorithm: can the edges' nodes be put in an order where every edge goes forward? */
function isAcyclic(edges) {
  const incoming = new Map();
  const outgoing = new Map();
  for (const { source, target } of edges) {
    incoming.set(target, (incoming.get(target) || 0) + 1);
    if (!incoming.has(source)) incoming.set(source, 0);
    if (!outgoing.has(source)) outgoing.set(source, []);
    outgoing.get(source).push(target);
  }
  const ready = [...incoming].filter(([, count]) => count === 0).map(([name]) => name);
  let done = 0;
  while (ready.length) {
    const name = ready.pop();
    done += 1;
    for (const next of outgoing.get(name) || []) {
      incoming.set(next, incoming.get(next) - 1);
      if (incoming.get(next) === 0) ready.push(next);
    }
  }
  return done === incoming.size;
}

/**
 * ELK's input: groups as nested graphs. A large graph is laid out one group at a time
 * (each group's tasks, then the groups as boxes, with the edges lifted to that level):
 * half the time of laying out the whole hierarchy at once, where ELK's crossing
 * minimisation dominates (bench/README.md). Cytoscape draws the real edges either way.
 */
function elkGraph(graph, direction, sizeOf) {
  const large = graph.nodes.length > LARGE_LAYOUT;
  const options = layoutOptions(direction, large);
  const lifted = large ? liftedEdges(graph) : null;
  if (lifted) options["elk.hierarchyHandling"] = "SEPARATE_CHILDREN";
  const byName = new Map();
  const top = { id: "__root__", layoutOptions: options, children: [], edges: [] };
  for (const node of graph.nodes) {
    const item = { id: node.name, children: [], edges: [] };
    if (node.compound) {
      // Layout options are not inherited: a group laid out on its own needs them all.
      const own = lifted ? options : {};
      item.layoutOptions = { ...own, "elk.padding": `[top=${GROUP_PADDING.top},left=${GROUP_PADDING.left},bottom=${GROUP_PADDING.bottom},right=${GROUP_PADDING.right}]` };
    } else {
      Object.assign(item, sizeOf(node.name));
    }
    byName.set(node.name, item);
  }
  for (const node of graph.nodes) {
    const item = byName.get(node.name);
    if (node.parent && byName.has(node.parent)) byName.get(node.parent).children.push(item);
    else top.children.push(item);
  }
  const edges = lifted || graph.edges.map((edge) => ({ owner: null, source: edge.source, target: edge.target }));
  edges.forEach((edge, i) => {
    const owner = edge.owner ? byName.get(edge.owner) : top;
    owner.edges.push({ id: `e${i}`, sources: [edge.source], targets: [edge.target] });
  });
  return top;
}

/**
 * The order of ``children`` if ``edges`` (between them) make one simple chain through all of
 * them (each after the one before, nothing else); null otherwise.
 */
function chainOrder(children, edges) {
  if (edges.length !== children.length - 1) return null;
  const next = new Map();
  const after = new Set();
  for (const edge of edges) {
    const [source] = edge.sources;
    const [target] = edge.targets;
    if (next.has(source) || after.has(target)) return null;
    next.set(source, target);
    after.add(target);
  }
  const starts = children.filter((child) => !after.has(child.id));
  if (starts.length !== 1) return null;
  const byId = new Map(children.map((child) => [child.id, child]));
  const order = [];
  for (let at = starts[0]; at && order.length < children.length; at = byId.get(next.get(at.id))) order.push(at);
  return order.length === children.length ? order : null;
}

/**
 * Place ``item``'s own graph without ELK if its nodes form a simple chain, as ELK's layered
 * algorithm does with it: one layer a node, in a row LAYER_GAP apart, centred across the row
 * (bench/README.md; tests/browser/test_graph_chains.py compares both). Its groups must have
 * their size already. Gives ``item`` its size and returns whether it was placed.
 */
function placeChain(item, direction, padding) {
  const order = chainOrder(item.children, item.edges);
  if (!order) return false;
  const right = direction === "RIGHT";
  const [along, across, length, breadth] = right ? ["x", "y", "width", "height"] : ["y", "x", "height", "width"];
  const [start, side] = right ? [padding.left, padding.top] : [padding.top, padding.left];
  const thickest = Math.max(...order.map((child) => child[breadth]));
  let at = start;
  for (const child of order) {
    child[along] = at;
    child[across] = side + (thickest - child[breadth]) / 2;
    at += child[length] + LAYER_GAP;
  }
  const used = at - LAYER_GAP - start;
  item[length] = start + used + (right ? padding.right : padding.bottom);
  item[breadth] = side + thickest + (right ? padding.bottom : padding.right);
  return true;
}

/**
 * ELK's layout of ``item``'s own graph, its groups (already laid out) given as plain boxes:
 * the children's places and ``item``'s size are copied onto ``item``.
 */
async function layOutLevel(item, elk) {
  const boxes = item.children.map(({ id, width, height }) => ({ id, width, height }));
  const result = await elk.layout({ id: item.id, layoutOptions: item.layoutOptions, children: boxes, edges: item.edges });
  const placed = new Map(result.children.map(({ id, x, y }) => [id, { x, y }]));
  for (const child of item.children) Object.assign(child, placed.get(child.id));
  Object.assign(item, { width: result.width, height: result.height });
}

/**
 * Lay out a hierarchy laid out one group at a time (SEPARATE_CHILDREN), innermost groups
 * first: each graph whose nodes form a chain is placed here, the others are given to ELK
 * (``elk()``), each on its own, all the groups of a level at once (ELK's worker queues them).
 * Returns whether ELK was needed.
 */
async function layOutByLevel(item, direction, padding, elk) {
  const groups = item.children.filter((child) => child.children.length);
  const inner = await Promise.all(groups.map((group) => layOutByLevel(group, direction, GROUP_PADDING, elk)));
  if (placeChain(item, direction, padding)) return inner.includes(true);
  await layOutLevel(item, elk());
  return true;
}

/** Absolute centres of the leaf nodes from ELK's nested, parent-relative boxes. */
function positionsOf(layout) {
  const positions = {};
  (function walk(items, dx, dy) {
    for (const item of items || []) {
      const x = dx + (item.x || 0);
      const y = dy + (item.y || 0);
      if (item.children && item.children.length) walk(item.children, x, y);
      else positions[item.id] = { x: x + item.width / 2, y: y + item.height / 2 };
    }
  })(layout.children, 0, 0);
  return positions;
}

/**
 * ELK in its worker, started when a layout needs it, or once the first drawing is on screen
 * (main.js). Not before the JSON is fetched: loading it then slowed the first drawing, even of
 * flows that needed ELK (bench/README.md), and chains do without it. One worker: two, laying
 * out a big flow's groups in parallel, were slower on 2 cores (each runs ELK cold at first).
 */
export class Layout {
  constructor(workerUrl) {
    this.workerUrl = workerUrl;
    this.elk = null;
  }

  start() {
    if (this.elk) return;
    const workerUrl = this.workerUrl;
    this.elk = new window.ELK({ workerFactory: () => new Worker(workerUrl) });
  }

  /**
   * Lay ``graph`` out in ``direction`` ("RIGHT" or "DOWN"), leaves sized by ``sizeOf``;
   * ``chains: false`` gives it all to ELK in one call, as it was before (the tests compare
   * both ways). Returns the leaves' centres, the drawing's extent, the time it took and
   * whether ELK was needed.
   */
  async run(graph, direction, sizeOf, { chains = true } = {}) {
    const started = performance.now();
    const layout = elkGraph(graph, direction, sizeOf);
    // Laid out one group at a time (or without groups: collapsed, or none), each graph is laid
    // out here on its own; else the whole hierarchy by ELK at once.
    const separate = layout.layoutOptions["elk.hierarchyHandling"] === "SEPARATE_CHILDREN";
    const byLevel = chains && (separate || graph.nodes.every((node) => !node.compound));
    let elk = true;
    if (byLevel) {
      elk = await layOutByLevel(layout, direction, ROOT_PADDING, () => this.worker());
    } else {
      Object.assign(layout, await this.worker().layout(layout));
    }
    const ms = Math.round(performance.now() - started);
    // The drawing's extent, known here for free: cytoscape's boundingBox() measures every label.
    return { positions: positionsOf(layout), box: { x1: 0, y1: 0, w: layout.width, h: layout.height }, ms, elk };
  }

  /** ELK, its worker started if it is not yet. */
  worker() {
    this.start();
    return this.elk;
  }
}

/**
 * Cytoscape draws edges straight between centres, not along ELK's routes: an edge between
 * two tasks of one row (a chain in a group) that skips layers would run hidden under the
 * tasks in between. Such an edge leaves its row in the first gap between layers, runs
 * beside the row and comes back in the last gap (cytoscape's segments, one style each).
 * Returns a function giving an edge its segments' data (``distances`` and ``weights``, which
 * the stylesheet maps to cytoscape's segment-distances and segment-weights), or null for a
 * straight line.
 */
export function detours(nodeItems, positions, direction) {
  const right = direction === "RIGHT";
  const [along, across] = right ? ["x", "y"] : ["y", "x"];
  const sizes = new Map(nodeItems.map((item) => [item.data.id, right ? item.data.width : item.data.height]));
  // Just clear of the row's tasks, inside the group's box (padding 14) when the row is in one.
  const clear = Math.max(0, ...nodeItems.map((item) => (right ? item.data.height : item.data.width) / 2)) + 8;
  let count = 0;
  return (edge) => {
    const from = positions[edge.source];
    const to = positions[edge.target];
    if (!from || !to || Math.abs(from[across] - to[across]) > 1) return null;
    const length = Math.abs(to[along] - from[along]);
    const leave = sizes.get(edge.source) / 2 + LAYER_GAP / 2;
    const rejoin = sizes.get(edge.target) / 2 + LAYER_GAP / 2;
    if (length - leave - rejoin <= LAYER_GAP) return null; // the next layer: nothing in between
    count += 1;
    // Alternate sides and stagger the distance: detours along one row stay apart.
    const distance = (count % 2 ? 1 : -1) * (clear + 4 * (Math.floor(count / 2) % 3));
    return { distances: [distance, distance], weights: [leave / length, 1 - rejoin / length] };
  };
}
