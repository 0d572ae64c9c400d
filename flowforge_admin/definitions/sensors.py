"""The ``sensor`` task key: its shape, defaults and checks (the one place that knows them).

``sensor: {"interval": s, "timeout": s, "on_timeout": "fail" | "skip"}``, every
key optional: the task's function is called every ``interval`` seconds (60)
until it returns a true value (its output). Between checks the task run is
``waiting`` and holds no worker. Once ``timeout`` seconds (7 days) have
passed since its first check, a check that still finds nothing fails the
task or, with ``on_timeout: "skip"``, makes it succeed with no output (there
is no "skipped" task status). A timeout is required rather than "for ever":
a sensor left waiting for a file that never comes would keep its run active
for ever, unnoticed.
"""

DEFAULT_INTERVAL = 60
DEFAULT_TIMEOUT = 7 * 24 * 3600
ON_TIMEOUT = ("fail", "skip")
KEYS = ("interval", "timeout", "on_timeout")
# The largest number of seconds a key takes (the database's positive integers).
SECONDS_MAX = 2**31 - 1


def sensor_settings(task):
    """Return the (interval, timeout, on_timeout) of a snapshot's task dict, or None if it is no sensor."""
    sensor = task.get("sensor")
    if sensor is None:
        return None
    return (
        sensor.get("interval", DEFAULT_INTERVAL),
        sensor.get("timeout", DEFAULT_TIMEOUT),
        sensor.get("on_timeout", "fail"),
    )


def sensor_problems(sensor, *, has_function, is_group):
    """Yield a message for each thing wrong with a task's ``sensor`` value (None: no sensor)."""
    if sensor is None:
        return
    if not isinstance(sensor, dict):
        yield f'must be an object such as {{"interval": 60, "timeout": 3600}}, not {sensor!r}'
        return
    unknown = sorted(set(sensor) - set(KEYS), key=str)
    if unknown:
        yield f"has no key {unknown[0]!r} (its keys: {', '.join(KEYS)})"
    for key in ("interval", "timeout"):
        value = sensor.get(key)
        if key in sensor and not (
            isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= SECONDS_MAX
        ):
            yield f"{key} must be a whole number of seconds from 1 to {SECONDS_MAX}, not {value!r}"
    if "on_timeout" in sensor and sensor["on_timeout"] not in ON_TIMEOUT:
        yield f'on_timeout must be "fail" or "skip", not {sensor["on_timeout"]!r}'
    if is_group:
        yield "a group cannot be a sensor: its tasks can"
    elif not has_function:
        yield "a sensor needs a function to check its condition"
