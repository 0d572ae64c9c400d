"""The dotted paths Django-Q2 calls name the engine's real functions.

They stay strings where importing the function would point an import the
wrong way (see the comments at each); these tests fail when one is renamed
or moved without its string.
"""

import pytest
from django.utils.module_loading import import_string

from flowforge_admin import q_schedules
from flowforge_admin.engine import approvals, dispatch, launch, recovery, schedule_fire, sensors, worker


@pytest.mark.parametrize(
    ("path", "function"),
    [
        (q_schedules.FIRE_FUNC, schedule_fire.fire),
        (dispatch.WORKER_ENTRY, worker.execute_task),
        (dispatch.RETRY_ENTRY, recovery.resume_retry),
        (recovery.CHECK_FUNC, recovery.check_lost_work),
        (dispatch.SENSOR_ENTRY, sensors.check_due),
        (dispatch.APPROVAL_ENTRY, approvals.time_out),
        (launch.START_ENTRY, launch.start_launched),
    ],
    ids=["fire", "worker", "retry", "lost-work-check", "sensor-check", "approval-timeout", "start-launched"],
)
def test_entry_point_resolves_to_its_function(path, function):
    assert import_string(path) is function
