"""Which fire times one delivered fire of a schedule launches: itself, the latest, or every missed one.

Django-Q2's scheduler runs inside the clusters: while none runs, a row's
``next_run`` stays where it was, and the first tick after they come back
delivers that one old fire (the project's ``Q_CLUSTER`` has ``catch_up``
off; with it on, Django-Q2 delivers every missed fire of an every-N-minutes
row, one per tick, and a cron row's next time is always counted from now).
So a fire stands for its own time and every fire time of the schedule
from it to now. With ``catchup`` off only the latest gets a run; with it on
each does, oldest first, capped by ``FLOWFORGE_CATCHUP_MAX_RUNS`` (the newest
are kept: what is over is older, and a backfill can run it). A fire time that
already has a run of the schedule never gets a second one, whichever way
it comes.
"""

import dataclasses
import datetime
import itertools

from ..conf import get_setting
from ..models import FlowRun

# Missed fires counted one by one (croniter steps) at most; beyond, the message says "more than".
COUNT_CEILING = 10_000


@dataclasses.dataclass(frozen=True)
class DueFires:
    """What one delivered fire launches: ``to_launch`` (oldest first; None: a run for now).

    ``missed`` counts the fire times it stands for that get no run, and
    ``message`` says why (empty when every one gets its run).
    """

    to_launch: list
    missed: int = 0
    message: str = ""


def catchup_max_runs():
    return get_setting("FLOWFORGE_CATCHUP_MAX_RUNS")


def when(moment):
    """A fire time in words: UTC, to the minute (to the second when it has seconds, as a minutes grid may)."""
    moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC")


def due_fires(schedule, fire_time, now):
    """Return the DueFires of a fire of ``schedule`` meant for ``fire_time``, delivered at ``now``."""
    if fire_time is None:
        return DueFires([None])
    keep = max(catchup_max_runs(), 1) if schedule.catchup else 1
    # Newest first, the later fire times (the grid through the fire's own time), then the fire's own.
    later = schedule.iter_fire_times(
        fire_time + datetime.timedelta(microseconds=1), now, anchor=fire_time, reverse=True
    )
    newest = [*itertools.islice(later, keep)]
    if len(newest) < keep:
        newest.append(fire_time)
    older = sum(1 for _ in itertools.islice(later, COUNT_CEILING))
    wanted = newest[::-1]
    missed = older + (1 if newest[-1] != fire_time else 0)
    taken = dict(
        FlowRun.objects.filter(schedule=schedule, logical_date__in=wanted).values_list("logical_date", "pk")
    )
    to_launch = [moment for moment in wanted if moment not in taken]
    if not to_launch:
        return DueFires([], missed=1, message=_covered(wanted, taken, fire_time))
    return DueFires(
        to_launch, missed=missed, message=_missed_words(schedule, missed, older, fire_time, wanted)
    )


def _covered(wanted, taken, fire_time):
    if len(wanted) > 1:
        return f"every fire due from {when(wanted[0])} to {when(wanted[-1])} already has a run"
    [moment] = wanted
    what = f"the fire of {when(moment)}" if moment == fire_time else f"the latest fire due, {when(moment)},"
    return f"{what} already has run #{taken[moment]}"


def _missed_words(schedule, missed, older, fire_time, wanted):
    if not missed:
        return ""
    count = f"more than {missed - 1}" if older >= COUNT_CEILING else str(missed)
    span = f"from {when(fire_time)}"
    if not schedule.catchup:
        return f"{count} earlier missed fire(s) {span} not run (catch-up is off)"
    return (
        f"{count} older missed fire(s) {span} skipped: over the catch-up limit of {catchup_max_runs()} "
        f"(FLOWFORGE_CATCHUP_MAX_RUNS); a backfill can run them"
    )


def launched_words(runs):
    """Say which runs one fire launched, for the schedule's last message."""
    if len(runs) == 1:
        return f"launched run #{runs[0].pk}"
    return (
        f"launched {len(runs)} runs, #{runs[0].pk} to #{runs[-1].pk}, "
        f"for the fires from {when(runs[0].logical_date)} to {when(runs[-1].logical_date)}"
    )
