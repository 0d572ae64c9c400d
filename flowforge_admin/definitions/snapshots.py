"""A run's stored definition (its snapshot), read once per process: the one cached reader.

The engine wraps what it returns in its Snapshot (``engine/snapshot.py``);
the run page asks its graph for the display order and each task's data. Both
share one copy, so a 20 000-task run's graph is built once per process.
"""

import functools
from dataclasses import dataclass

from ..models import FlowRun
from .graph import FlowGraph


@dataclass(frozen=True)
class StoredDefinition:
    """What a run executes: the snapshot's data, the run's parameters, the graph of its tasks."""

    data: dict
    run_params: dict
    graph: FlowGraph
    # The run's logical date and data interval (start, end): fixed at launch too.
    dates: tuple = (None, None, None)


@functools.lru_cache(maxsize=256)
def stored_definition(run_id, created_at):
    """Return the run's StoredDefinition (one query, then none in this process).

    Neither the snapshot, the parameters nor the dates change after launch. Keyed by id
    and creation time, so that a reused id (a test database, a restored
    backup) never finds another run's snapshot.
    """
    data, params, *dates = FlowRun.objects.values_list(
        "definition__data", "params", "logical_date", "data_interval_start", "data_interval_end"
    ).get(pk=run_id)
    return StoredDefinition(
        data=data, run_params=params or {}, graph=FlowGraph.from_dicts(data["tasks"]), dates=tuple(dates)
    )
