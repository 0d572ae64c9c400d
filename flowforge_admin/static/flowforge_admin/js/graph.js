/*
 * The DAG drawing of a flow or a run (templates/admin/flowforge_admin/graph.html).
 *
 * The page's JSON lists every task once (parents before children). From it
 * this script derives what is visible: a collapsed group stands for all its
 * descendants and dependencies are lifted to whatever stands for their ends.
 * ELK lays the visible graph out in a web worker (the page stays responsive
 * on thousands of tasks); cytoscape.js draws it. In the run view the statuses
 * are polled and restyled in place: no new layout, the user's zoom stays.
 *
 * window.ffGraph exposes the drawing to the browser tests and the benchmark.
 */
(function () {
  "use strict";

  // Above this many tasks the page opens with every group collapsed.
  const COLLAPSE_ABOVE = 1000;
  // Above this many drawn elements cytoscape trades detail for speed while moving.
  const BIG_GRAPH = 1500;
  // Above this many drawn nodes ELK makes fewer crossing-minimisation sweeps and lays
  // each group out on its own (see elkGraph).
  const LARGE_LAYOUT = 500;
  // The room between layers (ELK's spacing.nodeNodeBetweenLayers).
  const LAYER_GAP = 56;
  // Above this many drawn elements they are added in chunks of CHUNK, a frame apart:
  // building 10 000 elements at once blocks the page for seconds, in chunks for half a
  // second at most. Below it one piece is faster (a 1 000-task flow, ~2 100 elements:
  // about 0.3 s against 0.9 s, the frames drawn between chunks costing the difference).
  const CHUNK_ABOVE = 3000;
  const CHUNK = 1000;
  // Below this zoom labels are unreadable: a long flow opens at READABLE_ZOOM on its start instead.
  const MIN_FIT_ZOOM = 0.45;
  const READABLE_ZOOM = 0.8;

  // An icon and a border per status, so that colour is never the only cue. The colours
  // are the admin's one palette (admin.css: --ff-status-<state> and its -fg), read by
  // statusColours() so that badges, grid, chart and drawing always agree.
  const STATUS_STYLE = {
    pending: { icon: "○", border: "dashed" },
    queued: { icon: "◔", border: "solid" },
    running: { icon: "▶", border: "solid" },
    retrying: { icon: "↻", border: "solid" },
    waiting: { icon: "⧗", border: "dashed" },
    succeeded: { icon: "✓", border: "solid" },
    failed: { icon: "✗", border: "double" },
    upstream_failed: { icon: "⊘", border: "dashed" },
    cancelled: { icon: "■", border: "dotted" },
  };

  const root = document.getElementById("content-main");
  const canvas = document.getElementById("ff-graph-canvas");
  const message = document.getElementById("ff-graph-status");
  const panel = document.getElementById("ff-graph-panel");
  const panelBody = document.getElementById("ff-graph-panel-body");
  const view = root.dataset.view;

  const state = {
    data: null,
    tasks: new Map(), // name -> task
    children: new Map(), // name -> [child names]
    downstream: new Map(), // name -> [names that depend on it]
    statuses: {},
    collapsed: new Set(),
    direction: "RIGHT",
    rep: new Map(), // name -> the visible node that stands for it
    selected: null,
    fetchedAt: null, // performance.now() marks for the benchmark: the JSON read,
    layoutMs: null,
    drawnAt: null, // the drawing built (cytoscape paints it at the next frame)
    paintedAt: null, // ... and that frame
    layoutRuns: 0,
  };
  let cy = null;
  let elk = null;
  let layoutToken = 0;

  // Small helpers -------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function nextFrame() {
    return new Promise((resolve) => setTimeout(resolve, 0));
  }

  function say(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  function cssVar(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function isGroup(name) {
    return (state.children.get(name) || []).length > 0;
  }

  function ancestors(name) {
    const found = [];
    let parent = state.tasks.get(name).parent;
    while (parent) {
      found.push(parent);
      parent = state.tasks.get(parent).parent;
    }
    return found;
  }

  function descendantCount(name) {
    let count = 0;
    for (const child of state.children.get(name) || []) count += 1 + descendantCount(child);
    return count;
  }

  // Data ------------------------------------------------------------------

  function index(data) {
    state.data = data;
    state.tasks.clear();
    state.children.clear();
    state.downstream.clear();
    for (const task of data.tasks) {
      state.tasks.set(task.name, task);
      state.children.set(task.name, []);
      state.downstream.set(task.name, []);
    }
    for (const task of data.tasks) {
      if (task.parent) state.children.get(task.parent).push(task.name);
      for (const upstream of task.depends_on) state.downstream.get(upstream).push(task.name);
    }
    state.statuses = data.statuses || {};
  }

  /** Work out which node stands for each task, given the collapsed groups. */
  function computeRepresentatives() {
    const hidden = new Map(); // name -> true when its descendants are hidden
    state.rep.clear();
    for (const task of state.data.tasks) {
      const parentHides = task.parent ? hidden.get(task.parent) : false;
      state.rep.set(task.name, parentHides ? state.rep.get(task.parent) : task.name);
      hidden.set(task.name, parentHides || state.collapsed.has(task.name));
    }
  }

  function labelOf(name) {
    const task = state.tasks.get(name);
    let label = task.label;
    if (state.collapsed.has(name)) label = `▸ ${label}  (${descendantCount(name)})`;
    const status = state.statuses[name];
    if (view === "run" && status) {
      const style = STATUS_STYLE[status.status] || STATUS_STYLE.pending;
      let line = `${style.icon} ${status.label}`;
      // The attempt badge: only once a task may be (or was) tried more than once.
      if (status.attempt > 0 && status.max_attempts > 1) line += `  ·  try ${status.attempt}/${status.max_attempts}`;
      label = isGroup(name) && !state.collapsed.has(name) ? `${label}  ${style.icon}` : `${label}\n${line}`;
    }
    return label;
  }

  function nodeSize(name) {
    const lines = labelOf(name).split("\n");
    const longest = Math.max(...lines.map((line) => line.length));
    return { width: Math.max(110, Math.min(320, 24 + longest * 7.2)), height: lines.length > 1 ? 50 : 36 };
  }

  /** The visible graph: nodes (groups as compounds unless collapsed) and lifted, merged edges. */
  function visibleGraph() {
    computeRepresentatives();
    const nodes = [];
    const edges = new Map();
    for (const task of state.data.tasks) {
      const name = task.name;
      if (state.rep.get(name) !== name) continue;
      const compound = isGroup(name) && !state.collapsed.has(name);
      nodes.push({ name, parent: task.parent, compound });
    }
    for (const task of state.data.tasks) {
      const target = state.rep.get(task.name);
      for (const upstream of task.depends_on) {
        const source = state.rep.get(upstream);
        if (source === target) continue;
        const key = `${source}\u0000${target}`;
        edges.set(key, { source, target, count: (edges.get(key) || { count: 0 }).count + 1 });
      }
    }
    return { nodes, edges: [...edges.values()] };
  }

  // Layout (ELK in a worker) ---------------------------------------------

  function layoutOptions(large) {
    return {
      "elk.algorithm": "layered",
      "elk.direction": state.direction,
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
  function elkGraph(graph) {
    const large = graph.nodes.length > LARGE_LAYOUT;
    const options = layoutOptions(large);
    const lifted = large ? liftedEdges(graph) : null;
    if (lifted) options["elk.hierarchyHandling"] = "SEPARATE_CHILDREN";
    const byName = new Map();
    const top = { id: "__root__", layoutOptions: options, children: [], edges: [] };
    for (const node of graph.nodes) {
      const item = { id: node.name, children: [], edges: [] };
      if (node.compound) {
        // Layout options are not inherited: a group laid out on its own needs them all.
        const own = lifted ? options : {};
        item.layoutOptions = { ...own, "elk.padding": "[top=34,left=14,bottom=14,right=14]" };
      } else {
        Object.assign(item, nodeSize(node.name));
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

  /** Start the layout worker: called before the JSON is fetched, it loads ELK meanwhile. */
  function startElk() {
    if (elk) return;
    const workerUrl = root.dataset.workerUrl;
    elk = new ELK({ workerFactory: () => new Worker(workerUrl) });
  }

  async function layOut(graph) {
    startElk();
    const started = performance.now();
    const layout = await elk.layout(elkGraph(graph));
    state.layoutMs = Math.round(performance.now() - started);
    state.layoutRuns += 1;
    // The drawing's extent, known here for free: cytoscape's boundingBox() measures every label.
    return { positions: positionsOf(layout), box: { x1: 0, y1: 0, w: layout.width, h: layout.height } };
  }

  // Drawing ---------------------------------------------------------------

  function elements(graph, positions) {
    const items = [];
    for (const node of graph.nodes) {
      const classes = [];
      if (node.compound) classes.push("group");
      if (state.collapsed.has(node.name)) classes.push("collapsed");
      const status = state.statuses[node.name];
      if (view === "run" && status) classes.push(`s-${status.status}`);
      const data = { id: node.name, label: labelOf(node.name), ...nodeSize(node.name) };
      // A group's label sits above its top-left corner: cytoscape can only place it left of
      // the box, so it is pushed right by about its own width (measured: ~5.6px a character).
      if (node.compound) data.labelShift = Math.round(data.label.length * 5.6) + 4;
      if (node.parent && state.rep.get(node.parent) === node.parent) data.parent = node.parent;
      items.push({ group: "nodes", data, classes: classes.join(" "), position: positions[node.name] });
    }
    const detour = detours(items, positions);
    for (const edge of graph.edges) {
      const item = {
        group: "edges",
        data: { id: `${edge.source}\u2192${edge.target}`, source: edge.source, target: edge.target },
        classes: edge.count > 1 ? "merged" : "",
      };
      const route = detour(edge);
      if (route) {
        item.classes += " detour";
        item.style = route;
      }
      items.push(item);
    }
    return items;
  }

  /**
   * Cytoscape draws edges straight between centres, not along ELK's routes: an edge between
   * two tasks of one row (a chain in a group) that skips layers would run hidden under the
   * tasks in between. Such an edge leaves its row in the first gap between layers, runs
   * beside the row and comes back in the last gap (cytoscape's segments, one style each).
   */
  function detours(nodeItems, positions) {
    const right = state.direction === "RIGHT";
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
      return {
        "segment-distances": [distance, distance],
        "segment-weights": [leave / length, 1 - rejoin / length],
      };
    };
  }

  /** A status's fill and text colours from the palette (they change with the theme). */
  function statusColours(status) {
    return { fill: cssVar(`--ff-status-${status}`, "#9ca3af"), text: cssVar(`--ff-status-${status}-fg`, "#111") };
  }

  function statusRules() {
    return Object.entries(STATUS_STYLE).map(([status, style]) => {
      const colours = statusColours(status);
      return {
        selector: `node.s-${status}`,
        style: {
          "background-color": colours.fill,
          color: colours.text,
          "border-style": style.border,
          "border-color": cssVar("--body-fg", "#333"),
          "border-width": status === "failed" ? 4 : 1.5,
        },
      };
    });
  }

  /** An expanded group in a run: a tint and a border of its status, so that its tasks stay readable. */
  function groupStatusRules() {
    return Object.keys(STATUS_STYLE).map((status) => {
      const { fill } = statusColours(status);
      return {
        selector: `node.group.s-${status}`,
        style: {
          "background-color": fill,
          "background-opacity": 0.16,
          "border-color": fill,
          "border-width": 3,
          color: cssVar("--body-fg", "#333"),
        },
      };
    });
  }

  function stylesheet() {
    const fg = cssVar("--body-fg", "#333");
    const bg = cssVar("--body-bg", "#fff");
    const quiet = cssVar("--body-quiet-color", "#666");
    const border = cssVar("--border-color", "#ccc");
    const darkened = cssVar("--darkened-bg", "#f8f8f8");
    const accent = cssVar("--link-fg", "#417690");
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
          "font-family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
          "font-size": 12,
          "min-zoomed-font-size": 7,
          color: fg,
          "background-color": bg,
          "border-width": 1.5,
          "border-color": accent,
        },
      },
      {
        selector: "node.group",
        style: {
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
        },
      },
      { selector: "edge.merged", style: { width: 3 } },
      { selector: "edge.detour", style: { "curve-style": "segments", "edge-distances": "node-position" } },
      ...statusRules(),
      ...groupStatusRules(),
      { selector: ".faded", style: { opacity: 0.22 } },
      { selector: "edge.path", style: { "line-color": accent, "target-arrow-color": accent, width: 2.5, opacity: 1 } },
      { selector: "node.path", style: { "border-color": accent, "border-width": 3 } },
      { selector: "node.match", style: { "underlay-color": "#f0e442", "underlay-opacity": 0.9, "underlay-padding": 8 } },
      {
        selector: "node:selected",
        style: { "overlay-color": accent, "overlay-opacity": 0.18, "border-color": accent, "border-width": 4 },
      },
    ];
  }

  function makeCy(items, big) {
    // Restyling every element on each hover is too slow on big drawings: there, paths
    // are highlighted for the selected task only.
    const hoverPaths = !big;
    const instance = cytoscape({
      container: canvas,
      elements: items,
      style: stylesheet(),
      layout: { name: "preset", fit: true, padding: 30 },
      minZoom: 0.02,
      maxZoom: 3,
      wheelSensitivity: 0.3,
      boxSelectionEnabled: false,
      autoungrabify: true,
      textureOnViewport: big,
      hideEdgesOnViewport: big,
      motionBlur: false,
      pixelRatio: big ? 1 : "auto",
    });
    instance.on("tap", "node", (event) => select(event.target.id()));
    instance.on("dbltap", "node", (event) => {
      if (isGroup(event.target.id())) toggleGroup(event.target.id());
    });
    instance.on("tap", (event) => {
      if (event.target === instance) clearSelection();
    });
    instance.on("mouseover", "node", (event) => {
      canvas.style.cursor = "pointer";
      if (hoverPaths) highlightPaths(event.target.id());
    });
    instance.on("mouseout", "node", () => {
      canvas.style.cursor = "";
      if (hoverPaths) highlightPaths(state.selected);
    });
    return instance;
  }

  /** (Re)draw the visible graph; keep the viewport unless ``fit`` or nothing was drawn yet. */
  async function draw({ fit = false, focus = null } = {}) {
    const token = ++layoutToken;
    const graph = visibleGraph();
    say(graph.nodes.length > 400 ? `Laying out ${graph.nodes.length} tasks…` : "");
    root.dataset.state = "layout";
    const { positions, box } = await layOut(graph);
    if (token !== layoutToken) return; // a newer draw started meanwhile
    state.box = box;
    const built = performance.now();
    const items = elements(graph, positions);
    const viewport = cy && !fit ? { zoom: cy.zoom(), pan: cy.pan() } : null;
    const big = items.length > BIG_GRAPH;
    const chunked = items.length > CHUNK_ABOVE;
    if (cy) cy.destroy();
    cy = makeCy(chunked ? items.slice(0, CHUNK) : items, big);
    const instance = cy;
    // Nodes come parents first, then edges: each chunk refers only to elements already added.
    for (let start = CHUNK; chunked && start < items.length; start += CHUNK) {
      await nextFrame();
      if (token !== layoutToken) return;
      instance.batch(() => instance.add(items.slice(start, start + CHUNK)));
    }
    state.buildMs = Math.round(performance.now() - built);
    if (viewport) cy.viewport(viewport);
    else fitReadable();
    if (focus && cy.getElementById(focus).nonempty()) cy.center(cy.getElementById(focus));
    if (state.selected && cy.getElementById(state.selected).nonempty()) {
      cy.getElementById(state.selected).select();
      highlightPaths(state.selected);
    }
    say("");
    state.drawnAt = performance.now();
    // Cytoscape draws in its own animation-frame callback, registered before this one.
    requestAnimationFrame(() => (state.paintedAt = performance.now()));
    root.dataset.state = "drawn";
    root.dataset.nodes = String(cy.nodes().length);
    root.dataset.edges = String(cy.edges().length);
    window.ffGraph.cy = cy;
  }

  // Interaction ------------------------------------------------------------

  function highlightPaths(name) {
    if (!cy) return;
    cy.batch(() => {
      cy.elements().removeClass("faded path");
      const node = name ? cy.getElementById(state.rep.get(name) || name) : null;
      if (!node || node.empty()) return;
      const path = node.predecessors().union(node.successors()).union(node);
      cy.elements().not(path).not(path.ancestors()).not(path.descendants()).addClass("faded");
      path.addClass("path");
    });
  }

  function toggleGroup(name) {
    if (state.collapsed.has(name)) state.collapsed.delete(name);
    else state.collapsed.add(name);
    // A small flow is fitted again; on a big one the view stays on the group.
    const small = state.data.tasks.length <= 60;
    draw(small ? { fit: true } : { focus: name });
    if (state.selected === name) showPanel(name);
  }

  function setAllCollapsed(collapse) {
    state.collapsed.clear();
    if (collapse) {
      for (const task of state.data.tasks) if (isGroup(task.name)) state.collapsed.add(task.name);
    }
    draw({ fit: true });
  }

  /** Expand the groups hiding ``name``; return true if anything changed. */
  function reveal(name) {
    let changed = false;
    for (const ancestor of ancestors(name)) {
      if (state.collapsed.delete(ancestor)) changed = true;
    }
    return changed;
  }

  async function select(name) {
    if (!state.tasks.has(name)) return;
    state.selected = name;
    if (reveal(name)) await draw({ focus: name });
    cy.elements().unselect();
    const node = cy.getElementById(name);
    node.select();
    showPanel(name);
    // The panel lies over the drawing's right side: the zoom stays (labels stay readable)
    // and the selected task is brought into the part left uncovered.
    if (!inView(node)) cy.animate({ pan: panToShow(node), duration: 250 });
    highlightPaths(name);
    history.replaceState(null, "", `#task=${encodeURIComponent(name)}`);
  }

  /**
   * The part of the canvas that nothing covers, in canvas pixels: the legend lies over its
   * bottom, the task panel (on wide screens) over its right side. Fitting and bringing a task
   * into view use this area, so no task ends up under either.
   */
  function openArea() {
    const frame = canvas.getBoundingClientRect();
    const area = { x1: 0, y1: 0, x2: frame.width, y2: frame.height };
    const overlaps = (rect) => rect.width && rect.left < frame.right && rect.right > frame.left && rect.top < frame.bottom && rect.bottom > frame.top;
    const legend = document.getElementById("ff-graph-legend").getBoundingClientRect();
    if (overlaps(legend)) area.y2 = Math.min(area.y2, legend.top - frame.top);
    const side = panel.hidden ? null : panel.getBoundingClientRect();
    if (side && overlaps(side)) area.x2 = Math.min(area.x2, side.left - frame.left);
    return area;
  }

  /**
   * Fit the drawing into the open area; if that makes it smaller than ``least`` (unreadable),
   * show its start at a readable zoom instead. The Fit button passes 0: the whole drawing.
   */
  function fitReadable(least = MIN_FIT_ZOOM) {
    // ELK's extent of the drawing: cytoscape's own (cy.fit) measures every label, ~0.1 s at 1 000 tasks.
    const box = state.box;
    const pad = 30;
    const area = openArea();
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

  function inView(node) {
    const box = node.renderedBoundingBox();
    const area = openArea();
    return box.x1 >= area.x1 && box.y1 >= area.y1 && box.x2 <= area.x2 && box.y2 <= area.y2;
  }

  /** The pan that puts ``node`` in the middle of the open area, at the current zoom. */
  function panToShow(node) {
    const area = openArea();
    const zoom = cy.zoom();
    const at = node.position();
    return { x: (area.x1 + area.x2) / 2 - at.x * zoom, y: (area.y1 + area.y2) / 2 - at.y * zoom };
  }

  function clearSelection() {
    state.selected = null;
    if (cy) cy.elements().unselect();
    highlightPaths(null);
    panel.hidden = true;
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  function search(query) {
    if (!cy) return [];
    const needle = query.trim().toLowerCase();
    cy.nodes().removeClass("match");
    if (!needle) return [];
    const found = state.data.tasks
      .filter((task) => task.name.toLowerCase().includes(needle) || task.label.toLowerCase().includes(needle))
      .map((task) => task.name);
    if (!found.length) {
      say(`No task matches “${query}”.`);
      return found;
    }
    say(found.length > 1 ? `${found.length} tasks match “${query}”.` : "");
    select(found[0]).then(() => {
      for (const name of found) cy.getElementById(state.rep.get(name)).addClass("match");
    });
    return found;
  }

  // Side panel ---------------------------------------------------------------

  function statusBadge(status) {
    return el("span", { className: `ff-status ff-status-${status.status}`, text: status.label });
  }

  function taskLinks(names) {
    if (!names.length) return el("span", { className: "ff-muted", text: "—" });
    const list = el("ul", { className: "ff-graph-links" });
    for (const name of names) {
      const button = el("button", {
        type: "button",
        className: "ff-graph-linkbutton",
        text: state.tasks.get(name).label,
        title: name,
        onclick: () => select(name),
      });
      list.append(el("li", {}, button));
    }
    return list;
  }

  function row(term, ...value) {
    return [el("dt", { text: term }), el("dd", {}, ...value)];
  }

  function block(text, className) {
    return el("pre", { className: className || "ff-graph-pre" }, el("code", { text }));
  }

  /**
   * A time as the admin writes it, "2026-12-05 07:36:28 UTC": in the server's time zone
   * (the JSON's time_zone), named, whatever the browser's own zone and locale.
   */
  function fmtTime(value) {
    if (!value) return "—";
    const zone = state.data.time_zone || "UTC";
    const format = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    const part = Object.fromEntries(format.formatToParts(new Date(value)).map(({ type, value: v }) => [type, v]));
    return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${zone}`;
  }

  function retriesText(task) {
    if (!task.retries) return "none";
    const delay = task.retry_delay ? `first after ${task.retry_delay} s, then doubling` : "at once";
    return `${task.retries} (${delay})`;
  }

  function showPanel(name) {
    const task = state.tasks.get(name);
    const status = state.statuses[name];
    const body = [];
    body.push(el("h2", { text: task.label }));
    body.push(el("p", { className: "ff-muted ff-graph-name" }, el("code", { text: task.name })));
    const facts = el("dl", { className: "ff-graph-facts" });
    if (status) {
      facts.append(...row("Status", statusBadge(status)));
      facts.append(...row("Attempts", `${status.attempt} of ${status.max_attempts}`));
      facts.append(...row("Started", fmtTime(status.started_at)));
      facts.append(...row("Finished", fmtTime(status.finished_at)));
    }
    if (task.parent) facts.append(...row("Group", taskLinks([task.parent])));
    if (isGroup(name)) {
      const collapsed = state.collapsed.has(name);
      facts.append(
        ...row(
          "Group of",
          `${descendantCount(name)} tasks `,
          el("button", {
            type: "button",
            className: "button ff-graph-toggle",
            text: collapsed ? "Expand group" : "Collapse group",
            onclick: () => toggleGroup(name),
          }),
        ),
      );
    }
    facts.append(...row("Function", task.function ? el("code", { text: task.function }) : "— (a group)"));
    facts.append(
      ...row("Retries", retriesText(task)),
    );
    facts.append(...row("Timeout", task.timeout ? `${task.timeout} s` : "the worker's limit"));
    facts.append(...row("Upstream", taskLinks(task.depends_on)));
    facts.append(...row("Downstream", taskLinks(state.downstream.get(name))));
    body.push(facts);
    if (task.docstring) body.push(el("h3", { text: "Description" }), block(task.docstring, "ff-graph-doc"));
    if (Object.keys(task.params).length) {
      body.push(el("h3", { text: "Default parameters" }), block(JSON.stringify(task.params, null, 2)));
    }
    if (status && status.error) body.push(el("h3", { text: "Error" }), block(status.error, "ff-graph-pre ff-graph-error"));
    if (status && status.output) {
      body.push(el("h3", { text: "Output" }), block(status.output));
      if (status.output_url) {
        body.push(el("p", {}, el("a", { href: status.output_url, text: "The whole output (JSON)" })));
      }
    }
    if (task.source) {
      body.push(
        el("details", { className: "ff-graph-source" }, el("summary", { text: "Source code" }), block(task.source)),
      );
    }
    const links = el("p", { className: "ff-graph-actions" });
    if (status) links.append(el("a", { href: status.log_url, className: "button", text: "Logs" }));
    if (task.edit_url) links.append(el("a", { href: task.edit_url, className: "button", text: "Edit task" }));
    links.append(
      el("button", {
        type: "button",
        className: "button",
        text: "Copy link",
        onclick: () => navigator.clipboard && navigator.clipboard.writeText(window.location.href),
      }),
    );
    body.push(links);
    panelBody.replaceChildren(...body);
    panel.hidden = false;
    root.dataset.panel = name;
  }

  // Legend and table -----------------------------------------------------------

  function buildLegend() {
    const legend = document.getElementById("ff-graph-legend");
    const items = [];
    if (view === "run") {
      for (const entry of state.data.legend) {
        const style = STATUS_STYLE[entry.status] || STATUS_STYLE.pending;
        // The palette's classes (admin.css): the legend follows a theme switch by itself.
        const swatch = el("span", {
          className: `ff-graph-swatch ff-status-${entry.status}`,
          text: style.icon,
          "aria-hidden": "true",
        });
        swatch.style.borderStyle = style.border;
        items.push(el("li", {}, swatch, entry.label));
      }
    }
    items.push(el("li", {}, el("span", { className: "ff-graph-swatch ff-graph-swatch-group", "aria-hidden": "true" }), "group"));
    items.push(
      el("li", {}, el("span", { className: "ff-graph-swatch ff-graph-swatch-collapsed", "aria-hidden": "true", text: "▸" }), "collapsed group (double-click)"),
    );
    legend.replaceChildren(...items);
  }

  function buildTable() {
    const body = document.querySelector("#ff-graph-table tbody");
    const rows = state.data.tasks.map((task) => {
      const button = el("button", { type: "button", className: "ff-graph-linkbutton", text: task.label, onclick: () => select(task.name) });
      const cells = [
        el("th", { scope: "row" }, button, " ", el("code", { className: "ff-muted", text: task.name })),
        el("td", { text: task.parent || "—" }),
        el("td", { text: task.depends_on.join(", ") || "—" }),
        el("td", { text: state.downstream.get(task.name).join(", ") || "—" }),
      ];
      if (view === "run") {
        const status = state.statuses[task.name];
        cells.push(el("td", { "data-status-of": task.name }, status ? statusBadge(status) : "—"));
      }
      return el("tr", {}, ...cells);
    });
    body.replaceChildren(...rows);
  }

  function fillNames() {
    const list = document.getElementById("ff-graph-names");
    const options = state.data.tasks.slice(0, 2000).map((task) => el("option", { value: task.name }, task.label));
    list.replaceChildren(...options);
  }

  // Live statuses ----------------------------------------------------------------

  function applyStatuses(statuses) {
    state.statuses = statuses;
    if (!cy) return;
    cy.batch(() => {
      cy.nodes().forEach((node) => {
        const status = statuses[node.id()];
        if (!status) return;
        for (const name of Object.keys(STATUS_STYLE)) node.removeClass(`s-${name}`);
        node.addClass(`s-${status.status}`);
        node.data("label", labelOf(node.id()));
      });
    });
    for (const cell of document.querySelectorAll("[data-status-of]")) {
      const status = statuses[cell.dataset.statusOf];
      if (status) cell.replaceChildren(statusBadge(status));
    }
    if (state.selected && !panel.hidden) showPanel(state.selected);
  }

  function showRunStatus(run) {
    const badge = document.getElementById("ff-graph-runstatus");
    if (badge) badge.replaceChildren(el("span", { className: `ff-status ff-status-${run.status}`, text: run.label }));
    root.dataset.runStatus = run.status;
  }

  function poll() {
    const delay = Number(root.dataset.pollMs) || 1500;
    const tick = async () => {
      try {
        const response = await fetch(`${root.dataset.dataUrl}?statuses=1`, { credentials: "same-origin" });
        if (response.ok) {
          const data = await response.json();
          applyStatuses(data.statuses);
          showRunStatus(data.run);
          if (data.run.is_finished) return;
        }
      } catch (error) {
        // A dropped connection: try again at the next tick.
      }
      setTimeout(tick, delay);
    };
    setTimeout(tick, delay);
  }

  // Export -------------------------------------------------------------------------

  function download(blob, filename) {
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  }

  function exportName(ext) {
    const flow = state.data.flow.name || "flow";
    return view === "run" ? `${flow}-run-${state.data.run.id}.${ext}` : `${flow}.${ext}`;
  }

  function pngBlob() {
    return cy.png({ output: "blob", full: true, scale: 2, maxWidth: 8000, maxHeight: 8000, bg: cssVar("--body-bg", "#ffffff") });
  }

  function escapeXml(text) {
    return String(text).replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
  }

  /** An SVG of what is drawn: boxes, labels and straight arrows, in cytoscape's coordinates. */
  function svgText() {
    const box = cy.elements().boundingBox();
    const pad = 20;
    const parts = [];
    const styleOf = (node, prop) => node.style(prop);
    parts.push(
      `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${box.x1 - pad} ${box.y1 - pad} ${box.w + 2 * pad} ${box.h + 2 * pad}" width="${Math.round(box.w + 2 * pad)}" height="${Math.round(box.h + 2 * pad)}" font-family="system-ui, sans-serif" font-size="12">`,
      `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="context-stroke"/></marker></defs>`,
      `<rect x="${box.x1 - pad}" y="${box.y1 - pad}" width="${box.w + 2 * pad}" height="${box.h + 2 * pad}" fill="${cssVar("--body-bg", "#fff")}"/>`,
    );
    const nodes = cy.nodes().sort((a, b) => a.ancestors().length - b.ancestors().length);
    nodes.forEach((node) => {
      const b = node.boundingBox({ includeLabels: false, includeOverlays: false });
      const dash = { dashed: ' stroke-dasharray="6 4"', dotted: ' stroke-dasharray="2 3"' }[styleOf(node, "border-style")] || "";
      parts.push(
        `<rect x="${b.x1}" y="${b.y1}" width="${b.w}" height="${b.h}" rx="6" fill="${styleOf(node, "background-color")}" fill-opacity="${styleOf(node, "background-opacity")}" stroke="${styleOf(node, "border-color")}" stroke-width="${parseFloat(styleOf(node, "border-width"))}"${dash}/>`,
      );
      const lines = String(node.data("label")).split("\n");
      // As drawn: a group's label above its top-left corner, a task's in its middle.
      const compound = node.isParent();
      const y0 = compound ? b.y1 - 5 : (b.y1 + b.y2) / 2 - ((lines.length - 1) * 15) / 2 + 4;
      const x = compound ? b.x1 + 2 : (b.x1 + b.x2) / 2;
      const anchor = compound ? "start" : "middle";
      lines.forEach((line, i) => {
        parts.push(
          `<text x="${x}" y="${y0 + i * 15}" text-anchor="${anchor}" fill="${styleOf(node, "color")}"${compound ? ' font-weight="bold"' : ""}>${escapeXml(line)}</text>`,
        );
      });
    });
    cy.edges().forEach((edge) => {
      const s = edge.sourceEndpoint();
      const t = edge.targetEndpoint();
      parts.push(
        `<line x1="${s.x}" y1="${s.y}" x2="${t.x}" y2="${t.y}" stroke="${edge.style("line-color")}" stroke-width="${parseFloat(edge.style("width"))}" marker-end="url(#arrow)"/>`,
      );
    });
    parts.push("</svg>");
    return parts.join("\n");
  }

  // Wiring -----------------------------------------------------------------------------

  const actions = {
    direction(button) {
      state.direction = state.direction === "RIGHT" ? "DOWN" : "RIGHT";
      button.setAttribute("aria-pressed", String(state.direction === "DOWN"));
      button.textContent = state.direction === "DOWN" ? "Left to right" : "Top to bottom";
      draw({ fit: true });
    },
    "collapse-all": () => setAllCollapsed(true),
    "expand-all": () => setAllCollapsed(false),
    "zoom-in": () => cy.zoom({ level: cy.zoom() * 1.25, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } }),
    "zoom-out": () => cy.zoom({ level: cy.zoom() / 1.25, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } }),
    fit: () => fitReadable(0),
    reset() {
      clearSelection();
      cy.nodes().removeClass("match");
      document.getElementById("ff-graph-search").value = "";
      fitReadable(0);
    },
    png: () => download(pngBlob(), exportName("png")),
    svg: () => download(new Blob([svgText()], { type: "image/svg+xml" }), exportName("svg")),
    "close-panel": () => clearSelection(),
  };

  function wire() {
    root.addEventListener("click", (event) => {
      const button = event.target.closest("[data-action]");
      if (button && actions[button.dataset.action] && (cy || button.dataset.action === "close-panel")) {
        actions[button.dataset.action](button);
      }
    });
    const input = document.getElementById("ff-graph-search");
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        search(input.value);
      }
    });
    input.addEventListener("change", () => search(input.value));
    const picker = document.getElementById("ff-graph-flow");
    if (picker) picker.addEventListener("change", () => (window.location.href = picker.value));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !panel.hidden) clearSelection();
    });
    // Django's theme switch sets data-theme on <html>: restyle with the new colours.
    new MutationObserver(() => cy && cy.style(stylesheet())).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-theme"],
    });
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => cy && cy.style(stylesheet()));
  }

  function fragmentTask() {
    const match = window.location.hash.match(/^#task=(.+)$/);
    return match ? decodeURIComponent(match[1]) : null;
  }

  async function start() {
    wire();
    startElk();
    const response = await fetch(root.dataset.dataUrl, { credentials: "same-origin" });
    if (!response.ok) {
      say(`The drawing could not be loaded (${response.status}).`);
      return;
    }
    index(await response.json());
    state.fetchedAt = performance.now();
    if (!state.data.tasks.length) {
      say(view === "run" ? "This run has no tasks." : "This flow has no tasks yet.");
      root.dataset.state = "empty";
      return;
    }
    if (state.data.tasks.length > COLLAPSE_ABOVE) {
      for (const task of state.data.tasks) if (isGroup(task.name)) state.collapsed.add(task.name);
    }
    buildLegend();
    fillNames();
    const wanted = fragmentTask();
    if (wanted && state.tasks.has(wanted)) reveal(wanted);
    await draw({ fit: true });
    if (wanted && state.tasks.has(wanted)) await select(wanted);
    document.getElementById("ff-graph-table-wrap").addEventListener("toggle", buildTable, { once: true });
    if (view === "run") {
      showRunStatus(state.data.run);
      if (!state.data.run.is_finished) poll();
    }
  }

  window.ffGraph = { state, cy: null, search, select, toggleGroup, setAllCollapsed, pngBlob, svgText, draw };
  start().catch((error) => {
    say(`The drawing failed: ${error.message}`);
    root.dataset.state = "error";
    throw error;
  });
})();
