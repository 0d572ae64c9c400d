"""Which process runs an attempt, and whether that process is gone (engine/watchdog.py).

A claim (worker.claim, ``RunChange._start_here``) writes :func:`this_process`
into the task run's ``worker``: ``"<host>:<pid>:<start>"``.

- ``host`` is the machine's name and, on Linux, its pid namespace: two
  containers may share a host name but not a pid namespace, and a pid means
  something only in its own. A process judges only the pids of its host.
- ``start`` is when the process started (Linux ``/proc/<pid>/stat``, clock
  ticks since boot): once a pid is given to a new process, the start differs,
  so the claimer is known to be gone even though its pid is alive.

Without ``/proc`` (not Linux) the value is ``"<host>:<pid>"`` and a pid is
alive while ``kill(pid, 0)`` finds it: a reused pid then looks alive and its
attempt is left to the lost-work check (its heartbeat goes stale), as before.
"""

import functools
import os
import socket

PROC = os.path.isdir("/proc/self")


@functools.cache
def host():
    """This machine's name, with its pid namespace where there is one ("name/4026531836")."""
    try:
        namespace = "".join(c for c in os.readlink("/proc/self/ns/pid") if c.isdigit())
    except OSError:
        namespace = ""
    name = socket.gethostname()
    return f"{name}/{namespace}" if namespace else name


def this_process():
    """The ``worker`` value of the calling process."""
    return _name(os.getpid())


@functools.lru_cache(maxsize=4)  # by pid: a forked worker must not inherit its parent's
def _name(pid):
    stat = _stat(pid) if PROC else None
    return f"{host()}:{pid}:{stat[1]}" if stat else f"{host()}:{pid}"


def on_this_host(worker):
    """Whether the ``worker`` value names a process of this host (and pid namespace)."""
    return worker.startswith(host() + ":")


def gone(worker):
    """Whether the process the ``worker`` value of this host names has ended (dead, a zombie, or its pid reused)."""
    pid_text, _, start = worker[len(host()) + 1 :].partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False  # not one of ours: the lost-work check judges it
    if PROC:
        stat = _stat(pid)
        # A zombie ("Z") is dead, only not yet reaped by its parent.
        return stat is None or stat[0] in "ZX" or bool(start and stat[1] != start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def _stat(pid):
    """(state, start time) of process ``pid`` from /proc, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], fields[19]
