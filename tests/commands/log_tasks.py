"""Task functions of the task_log tests: they log while the test watches, and wait for its signal."""

import logging
import time
from pathlib import Path

logger = logging.getLogger("tests.log_tasks")


def chatter(context, gate, lines=3, fail=False):
    """Log ``lines`` lines, wait until the file ``gate`` exists (the test's signal), log one more; fail if asked."""
    for number in range(lines):
        logger.info("%s line %s", context.task_name, number)
    deadline = time.monotonic() + 60
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    logger.warning("%s past the gate", context.task_name)
    if fail:
        raise RuntimeError("failing on purpose")
    return lines
