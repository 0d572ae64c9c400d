"""The one walker of a flow's tree and DAG: :class:`FlowGraph`.

Rules, the run snapshot (hence the engine and ``control``) and the run page
ask it their questions: parent and children, ancestors, what a task waits
for (``upstream``), what waits for it (``downstream``), the display order,
and cycles. Built from plain records (a :class:`~.spec.TaskSpec` or a task of
a run's stored snapshot), with no database access, and linear in tasks and
dependencies (times the nesting depth where a walk up the tree is asked for).

Group semantics (DESIGN.md): a group's upstream applies to all its tasks,
and waiting on a group waits for all of it.

A graph may be built over a nesting cycle (a task nested, through others,
in itself): :meth:`FlowGraph.nesting_cycle` finds it with a guarded walk, as
the rules need. Every other question assumes a tree (validated definitions
and snapshots are), which is why the rules look for nesting cycles first.
"""

import heapq
from types import MappingProxyType


class FlowGraph:
    """A flow's tasks as a tree (nesting) and a DAG (dependencies), read-only.

    ``names`` keeps the records' order (parents before children, siblings in
    definition order, for a stored definition or snapshot); ``children`` and
    ``dependents`` map each name to a tuple of names, in that order.
    ``record(name)`` is the record the task came from.
    """

    def __init__(self, names, parents, depends_on, records=None):
        self.names = tuple(names)
        self._parent = parents
        self._depends_on = depends_on
        self._records = records or {}
        children = {name: [] for name in self.names}
        dependents = {name: [] for name in self.names}
        for name in self.names:
            parent = parents[name]
            if parent is not None:
                children[parent].append(name)
            for upstream in depends_on[name]:
                dependents[upstream].append(name)
        self.children = MappingProxyType({name: tuple(found) for name, found in children.items()})
        self.dependents = MappingProxyType({name: tuple(found) for name, found in dependents.items()})
        self._numbering = None

    @classmethod
    def from_tasks(cls, tasks):
        """Build from objects with ``name``, ``parent`` and ``depends_on`` (TaskSpecs)."""
        return cls._build(tasks, lambda task, key: getattr(task, key))

    @classmethod
    def from_dicts(cls, tasks):
        """Build from dicts with "name", "parent" and "depends_on" (a run's stored snapshot)."""
        return cls._build(tasks, lambda task, key: task[key])

    @classmethod
    def _build(cls, tasks, get):
        names, parents, depends_on, records = [], {}, {}, {}
        for task in tasks:
            name = get(task, "name")
            names.append(name)
            parents[name] = get(task, "parent")
            depends_on[name] = tuple(get(task, "depends_on"))
            records[name] = task
        return cls(names, parents, depends_on, MappingProxyType(records))

    def __contains__(self, name):
        return name in self._parent

    def __len__(self):
        return len(self.names)

    def record(self, name):
        return self._records[name]

    @property
    def records(self):
        """{name: record}, read-only."""
        return self._records

    def parent(self, name):
        return self._parent[name]

    def depends_on(self, name):
        """The task's own dependencies, as given."""
        return self._depends_on[name]

    def is_group(self, name):
        return bool(self.children[name])

    def roots(self):
        return [name for name in self.names if self._parent[name] is None]

    def ancestors(self, name):
        """Return the groups holding ``name``, innermost first."""
        found = []
        parent = self._parent[name]
        while parent is not None:
            found.append(parent)
            parent = self._parent[parent]
        return found

    def is_ancestor(self, group, name):
        """Whether ``group`` holds ``name`` (at any depth); O(1) after one numbering of the tree."""
        if self._numbering is None:
            self._numbering = self._number_tree()
        enter, leave = self._numbering
        return enter[group] < enter[name] and leave[name] <= leave[group]

    def _number_tree(self):
        """Number each task on entering and leaving it in a depth-first walk (no recursion)."""
        enter, leave, clock = {}, {}, 0
        todo = [(name, False) for name in reversed(self.roots())]
        while todo:
            name, done = todo.pop()
            clock += 1
            if done:
                leave[name] = clock
                continue
            enter[name] = clock
            todo.append((name, True))
            todo.extend((child, False) for child in reversed(self.children[name]))
        return enter, leave

    def descendants(self, name):
        """Return ``name`` and every task nested in it (its subtree)."""
        found, todo = [], [name]
        while todo:
            current = todo.pop()
            found.append(current)
            todo.extend(self.children[current])
        return found

    def upstream(self, name):
        """Return the tasks ``name`` waits for: its own dependencies and its groups', without repeats."""
        names = list(self._depends_on[name])
        for ancestor in self.ancestors(name):
            names.extend(self._depends_on[ancestor])
        return list(dict.fromkeys(names))

    def downstream(self, name):
        """Return ``name``, the tasks that wait for it (transitively) and their nested tasks.

        Waiting on a group waits on all of it: what waits for any group
        holding a task found waits for that task too. Each group's
        dependents are added once (the walk up stops at a group already
        lifted), so a deep tree costs no more than its size.
        """
        found, todo, lifted = {}, [name], set()  # found: an ordered set
        while todo:
            current = todo.pop()
            if current in found:
                continue
            found[current] = None
            todo.extend(self.dependents[current])
            todo.extend(self.children[current])
            ancestor = self._parent[current]
            while ancestor is not None and ancestor not in lifted:
                lifted.add(ancestor)
                todo.extend(self.dependents[ancestor])
                ancestor = self._parent[ancestor]
        return list(found)

    def nesting_cycle(self):
        """Return the first nesting cycle (names, first repeated last) met walking up from each task, or None.

        Guarded: works on a graph whose parents loop. Linear: a walk stops at
        a task already known to reach a root.
        """
        reaches_root = set()
        for name in self.names:
            path = [name]
            on_path = {name}
            parent = self._parent[name]
            while parent is not None and parent not in reaches_root:
                if parent in on_path:
                    return name, path[path.index(parent) :] + [parent]
                path.append(parent)
                on_path.add(parent)
                parent = self._parent[parent]
            reaches_root.update(path)
        return None

    def find_cycle(self):
        """Return the task names of a dependency cycle, first name repeated last, or None.

        Groups take part as DESIGN.md says: a group's upstream applies to all its
        descendants, waiting on a group waits for all of them, and a group's own
        function runs after its children. Each task is therefore two points in
        time, its start and its end, linked by these edges:

        - start(t) -> end(t);
        - start(group) -> start(child) and end(child) -> end(group);
        - end(upstream) -> start(downstream) for each dependency.

        A cycle among these points is a cycle of the flow, and the graph stays as
        small as the definition (no expansion of groups into all their members).
        """
        edges = {}
        for name in self.names:
            parent = self._parent[name]
            edges.setdefault(("start", name), []).append(("end", name))
            if parent is not None:
                edges.setdefault(("start", parent), []).append(("start", name))
                edges.setdefault(("end", name), []).append(("end", parent))
            for upstream in self._depends_on[name]:
                edges.setdefault(("end", upstream), []).append(("start", name))

        state = {}  # point -> 1 while on the stack, 2 when done
        for name in self.names:
            root = ("start", name)
            if root in state:
                continue
            stack = [(root, iter(edges.get(root, ())))]
            state[root] = 1
            while stack:
                point, successors = stack[-1]
                for successor in successors:
                    if state.get(successor) == 1:
                        points = [p for p, _ in stack]
                        return _names_of(points[points.index(successor) :] + [successor])
                    if successor not in state:
                        state[successor] = 1
                        stack.append((successor, iter(edges.get(successor, ()))))
                        break
                else:
                    state[point] = 2
                    stack.pop()
        return None

    def display_order(self):
        """Return [(task name, depth)]: siblings in dependency order, each group's tasks under it.

        Siblings are ordered by the dependencies between them, lifted to the
        sibling level (a task depending on something inside a sibling group comes
        after that group); ties and the rare lifted cycle keep definition order.
        Linear in tasks and dependencies (times the nesting depth): Kahn's
        algorithm per group, the next sibling taken by definition order.
        """
        after = self._lifted_dependencies()
        order = []
        # Depth first, each group's tasks right under it (a stack: no recursion limit).
        todo = [(name, 0) for name in reversed(_sibling_order(self.roots(), after))]
        while todo:
            name, depth = todo.pop()
            order.append((name, depth))
            children = _sibling_order(self.children[name], after)
            todo.extend((child, depth + 1) for child in reversed(children))
        return order

    def _lifted_dependencies(self):
        """Return {task: set of its siblings it comes after}.

        A dependency of ``task`` on ``upstream`` orders the two tasks' ancestors
        that are siblings (children of the group holding both); it orders
        nothing when one holds the other.
        """
        depth = {}
        for name in self.names:  # parents come before their children
            parent = self._parent[name]
            depth[name] = 0 if parent is None else depth[parent] + 1
        after = {name: set() for name in self.names}
        for name in self.names:
            for upstream in self._depends_on[name]:
                if upstream not in depth:  # cannot happen in a valid snapshot; never break the page
                    continue
                later, earlier = self._siblings_holding(depth, name, upstream)
                if later != earlier:
                    after[later].add(earlier)
        return after

    def _siblings_holding(self, depth, a, b):
        """Return the ancestors-or-selves of ``a`` and ``b`` that share a parent (the same one if one holds the other)."""
        parent = self._parent
        while depth[a] > depth[b]:
            a = parent[a]
        while depth[b] > depth[a]:
            b = parent[b]
        while parent[a] != parent[b]:
            a, b = parent[a], parent[b]
        return a, b


def _sibling_order(siblings, after):
    """Kahn's algorithm over ``siblings``: the first ready one in definition order next.

    A cycle (possible once lifted to groups) places the first sibling not
    placed yet, in definition order, and goes on.
    """
    index = {name: i for i, name in enumerate(siblings)}
    waiting = {name: len(after[name]) for name in siblings}
    dependents = {name: [] for name in siblings}
    for name in siblings:
        for earlier in after[name]:
            dependents[earlier].append(name)
    ready = [index[name] for name in siblings if not waiting[name]]
    heapq.heapify(ready)
    placed, ordered, first_free = set(), [], 0
    while len(ordered) < len(siblings):
        if ready:
            name = siblings[heapq.heappop(ready)]
            if name in placed:  # placed to break a cycle, ready since
                continue
        else:
            while siblings[first_free] in placed:
                first_free += 1
            name = siblings[first_free]
        placed.add(name)
        ordered.append(name)
        for later in dependents[name]:
            waiting[later] -= 1
            if not waiting[later] and later not in placed:
                heapq.heappush(ready, index[later])
    return ordered


def _names_of(points):
    """Turn a cycle of start/end points into task names, without repeats in a row."""
    names = []
    for _, name in points:
        if not names or names[-1] != name:
            names.append(name)
    if len(names) > 1 and names[0] != names[-1]:
        names.append(names[0])
    return names
