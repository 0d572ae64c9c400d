"""Benchmark: a parameters schema's ``pattern`` cannot stall a launch (RE2 against Python's re).

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_schema_patterns.py [--sizes 1000 16000 64000]

Applies ``{"pattern": "^(a+)+$"}`` (catastrophic for a backtracking engine) to
``"a" * n + "b"`` with the validator launches use, and, as the baseline, with
Python's ``re`` for small ``n`` only (its time doubles with each character).
Also times checking, when saved, a schema near the 64 kB cap made of a chain
of 2 000 $refs, and the part of it that resolves references and compiles patterns.
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")

import django  # noqa: E402

django.setup()

from flowforge_admin.definitions.params import check_params_schema  # noqa: E402
from flowforge_admin.definitions.schemas import check_usable, validator_for  # noqa: E402

PATTERN = "^(a+)+$"


def median_seconds(action, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 16000, 64000])
    args = parser.parse_args()
    validator = validator_for({"properties": {"x": {"type": "string", "pattern": PATTERN}}})
    for n in args.sizes:
        text = "a" * n + "b"
        seconds = median_seconds(lambda text=text: list(validator.iter_errors({"x": text})))
        print(f"RE2 (launch validator), n={n:>6}: {seconds * 1000:8.3f} ms")
    for n in (18, 20, 22):
        text = "a" * n + "b"
        seconds = median_seconds(lambda text=text: re.search(PATTERN, text), repeat=1)
        print(f"Python re (baseline),   n={n:>6}: {seconds * 1000:8.3f} ms")
    chain = {f"d{i}": {"$ref": f"#/$defs/d{i + 1}"} for i in range(2000)}
    chain["d2000"] = {"type": "integer"}
    schema = {"$defs": chain, "properties": {"x": {"$ref": "#/$defs/d0"}}}
    seconds = median_seconds(lambda: check_params_schema(schema), repeat=3)
    print(f"whole check when saved, 2 000 chained $refs: {seconds * 1000:8.1f} ms")
    seconds = median_seconds(lambda: check_usable(schema), repeat=3)
    print(
        f"  of which references and patterns (the rest: jsonschema's meta-schema check): {seconds * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
