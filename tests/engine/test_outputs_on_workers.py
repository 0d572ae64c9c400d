"""Outputs that are not JSON on real workers: a `manage.py qcluster` stores, signs, loads and passes them on.

One test (one cluster start) runs three flows: every kind of value ML work
returns, a tampered artifact, and a 100 MB array handed from task to task.
"""

import pickle

import numpy as np
import pytest

from flowforge_admin.api import clear_tasks, launch_flow, register_task_pipeline
from flowforge_admin.artifacts.storage import get_storage
from flowforge_admin.models import Artifact
from flowforge_admin.states import RunState, TaskState

from .. import data_tasks as d
from ..conftest import require_service
from .test_cluster import finished
from .test_outputs import PRODUCERS

pytestmark = pytest.mark.django_db(transaction=True)


def test_workers_pass_any_value_on_and_refuse_a_tampered_one(cluster, tmp_path):
    require_service("pandas", d.pd is not None, "install pandas and pyarrow (requirements-dev.txt)")
    pipeline = {name: {"function": getattr(d, name)} for name in PRODUCERS}
    pipeline["by_context"] = {"function": d.check_context, "depends_on": PRODUCERS}
    pipeline["by_name"] = {"function": d.check_named, "depends_on": PRODUCERS}
    values = launch_flow(register_task_pipeline("ml_values", pipeline))
    tampered = launch_flow(
        register_task_pipeline(
            "tampered",
            {
                "make": {"function": d.make_tripwire},
                "use": {"function": d.use_upstream, "depends_on": ["make"]},
            },
        ),
        {"marker": str(tmp_path / "legit")},
    )
    big = launch_flow(
        register_task_pipeline(
            "big_array",
            {
                "make": {"function": d.big_array},
                "use": {"function": d.array_sum, "depends_on": ["make"]},
            },
        )
    )

    values = finished(values)
    assert values.status == RunState.SUCCEEDED, list(values.task_runs.values_list("task_name", "error"))
    verdicts = dict(
        values.task_runs.filter(task_name__in=["by_context", "by_name"]).values_list("task_name", "output")
    )
    assert verdicts == {
        "by_context": dict.fromkeys(PRODUCERS, True),
        "by_name": dict.fromkeys(PRODUCERS, True),
    }

    big = finished(big)
    assert big.status == RunState.SUCCEEDED
    make = big.task_runs.select_related("artifact").get(task_name="make")
    assert make.artifact.size > 100_000_000
    assert make.artifact.preview["shape"] == [d.BIG_ROWS, 1250]
    assert big.task_runs.get(task_name="use").output == float(
        np.arange(d.BIG_ROWS * 1250, dtype=np.float64).sum()
    )

    tampered = finished(tampered)
    assert tampered.status == RunState.SUCCEEDED
    artifact = Artifact.objects.get(task_run__run=tampered, task_run__task_name="make")
    planted = tmp_path / "planted"
    with get_storage().open(artifact.path, "wb") as file:
        file.write(pickle.dumps(d.Tripwire(str(planted))))
    clear_tasks(tampered, ["use"])
    tampered = finished(tampered)
    use = tampered.task_runs.get(task_name="use")
    assert use.status == TaskState.FAILED
    assert f"the output of task 'make' (artifact {artifact.path}) does not match its signature" in use.error
    assert not planted.exists()
