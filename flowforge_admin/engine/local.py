"""Running a whole flow in this process (``run_flow``), with the same engine code.

No worker and no Django-Q2 sync mode: the engine's enqueues go to an
in-process queue, and this loop calls the worker entry point for each
attempt in turn. A retry's delay is waited for here (nothing else can run
meanwhile). Timeouts use Django-Q2's own alarm handler, in the main thread.
"""

import threading
import time

from django.utils.module_loading import import_string
from django_q.exceptions import TimeoutException
from django_q.timeout import TimeoutHandler

from . import dispatch
from .worker import execute_task


def run_in_process(launch_run):
    """Call ``launch_run()`` and execute the run it returns here until it finishes; return the run.

    ``launch_run`` is the launch itself (``LaunchFlowAction(...).execute``, so
    that a run made here is checked and recorded as any other launch): its
    enqueues, made on commit, land in this process's queue.
    """
    with dispatch.local_queue() as queue:
        queue.nobody_decides = True
        run = launch_run()
        while True:
            ready = queue.next_ready()
            if ready is not None:
                _execute(*ready)
                continue
            due = queue.next_call()
            if due is None:
                break
            wait, entry, args = due
            time.sleep(wait)  # a retry's delay or a sensor's interval: nothing else is ready to run
            import_string(entry)(*args)
    run.refresh_from_db()
    return run


def _execute(task_run_id, attempt, run_id, timeout):
    if not timeout or threading.current_thread() is not threading.main_thread():
        execute_task(task_run_id, attempt, run_id)
        return
    try:
        with TimeoutHandler(timeout):
            execute_task(task_run_id, attempt, run_id)
    except TimeoutException:
        pass  # recorded on the task run by execute_task
