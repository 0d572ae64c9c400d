/*
 * The graph's data: the tasks of the page's JSON (parents before children), their
 * tree and their dependencies, and which groups are collapsed. Every walk of the
 * tree or the DAG on the page (ancestors, descendants, upstream, downstream, what
 * stands for a hidden task) is here and nowhere else.
 */

export class GraphModel {
  constructor() {
    this.data = null;
    this.tasks = new Map(); // name -> task
    this.children = new Map(); // name -> [child names]
    this.downstream = new Map(); // name -> [names that depend on it]
    this.statuses = {};
    this.collapsed = new Set();
    this.rep = new Map(); // name -> the visible node that stands for it
  }

  /** Take the page's JSON: index its tasks by name, children and dependants. */
  load(data) {
    this.data = data;
    this.tasks.clear();
    this.children.clear();
    this.downstream.clear();
    for (const task of data.tasks) {
      this.tasks.set(task.name, task);
      this.children.set(task.name, []);
      this.downstream.set(task.name, []);
    }
    for (const task of data.tasks) {
      if (task.parent) this.children.get(task.parent).push(task.name);
      for (const upstream of task.depends_on) this.downstream.get(upstream).push(task.name);
    }
    this.statuses = data.statuses || {};
  }

  get size() {
    return this.data.tasks.length;
  }

  has(name) {
    return this.tasks.has(name);
  }

  isGroup(name) {
    return (this.children.get(name) || []).length > 0;
  }

  /** The groups that hold ``name``, nearest first. */
  ancestors(name) {
    const found = [];
    let parent = this.tasks.get(name).parent;
    while (parent) {
      found.push(parent);
      parent = this.tasks.get(parent).parent;
    }
    return found;
  }

  descendantCount(name) {
    let count = 0;
    for (const child of this.children.get(name) || []) count += 1 + this.descendantCount(child);
    return count;
  }

  upstreamOf(name) {
    return this.tasks.get(name).depends_on;
  }

  downstreamOf(name) {
    return this.downstream.get(name);
  }

  groups() {
    return this.data.tasks.filter((task) => this.isGroup(task.name)).map((task) => task.name);
  }

  /** Collapse every group (true) or none (false). */
  setAllCollapsed(collapse) {
    this.collapsed.clear();
    if (collapse) for (const name of this.groups()) this.collapsed.add(name);
  }

  toggle(name) {
    if (!this.collapsed.delete(name)) this.collapsed.add(name);
  }

  /** Expand the groups hiding ``name``; return true if anything changed. */
  reveal(name) {
    let changed = false;
    for (const ancestor of this.ancestors(name)) {
      if (this.collapsed.delete(ancestor)) changed = true;
    }
    return changed;
  }

  /** The names whose task or label contains ``query`` (any case), in the JSON's order. */
  find(query) {
    const needle = query.trim().toLowerCase();
    if (!needle) return [];
    return this.data.tasks
      .filter((task) => task.name.toLowerCase().includes(needle) || task.label.toLowerCase().includes(needle))
      .map((task) => task.name);
  }

  /** Work out which node stands for each task, given the collapsed groups. */
  computeRepresentatives() {
    const hidden = new Map(); // name -> true when its descendants are hidden
    this.rep.clear();
    for (const task of this.data.tasks) {
      const parentHides = task.parent ? hidden.get(task.parent) : false;
      this.rep.set(task.name, parentHides ? this.rep.get(task.parent) : task.name);
      hidden.set(task.name, parentHides || this.collapsed.has(task.name));
    }
  }

  /** The visible graph: nodes (groups as compounds unless collapsed) and lifted, merged edges. */
  visibleGraph() {
    this.computeRepresentatives();
    const nodes = [];
    const edges = new Map();
    for (const task of this.data.tasks) {
      const name = task.name;
      if (this.rep.get(name) !== name) continue;
      const compound = this.isGroup(name) && !this.collapsed.has(name);
      nodes.push({ name, parent: task.parent, compound });
    }
    for (const task of this.data.tasks) {
      const target = this.rep.get(task.name);
      for (const upstream of task.depends_on) {
        const source = this.rep.get(upstream);
        if (source === target) continue;
        const key = `${source}\u0000${target}`;
        edges.set(key, { source, target, count: (edges.get(key) || { count: 0 }).count + 1 });
      }
    }
    return { nodes, edges: [...edges.values()] };
  }
}
