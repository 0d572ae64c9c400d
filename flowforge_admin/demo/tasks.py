"""Task functions of the demo flows (standard library only).

Kept apart from ``flows.py`` on purpose: a worker imports this module to run
a task, and registration there would run again for nothing.

Each function takes the run's parameters it declares as keyword arguments,
and ``context`` when it needs the outputs of its upstream tasks
(``context.upstream``, a dict of task name to output).
"""

import logging
import random
import statistics

logger = logging.getLogger(__name__)


def _upstream(context, name, default=None):
    upstream = getattr(context, "upstream", None) or {}
    return upstream.get(name, default)


# The predecessor's simple pipeline -------------------------------------------------


def fetch_data1(n_rows=5):
    """Fetch the first dataset: daily sales figures."""
    rows = [{"day": day, "sales": 100 + 7 * day} for day in range(n_rows)]
    logger.info("fetched %d rows of sales", len(rows))
    return rows


def fetch_data2(n_rows=5):
    """Fetch the second dataset: daily visitor counts."""
    rows = [{"day": day, "visitors": 1000 + 13 * day} for day in range(n_rows)]
    logger.info("fetched %d rows of visitors", len(rows))
    return rows


def _upstream_rows(context):
    """Every row the upstream tasks made, looking inside a group's gathered outputs."""
    rows = []
    for output in (getattr(context, "upstream", None) or {}).values():
        for part in output.values() if isinstance(output, dict) else [output]:
            if isinstance(part, list):
                rows.extend(row for row in part if isinstance(row, dict))
    return rows


def clean_data(context=None):
    """Join the sales and visitors datasets by day and drop incomplete rows."""
    rows = _upstream_rows(context)
    sales = {row["day"]: row["sales"] for row in rows if "sales" in row}
    visitors = {row["day"]: row["visitors"] for row in rows if "visitors" in row}
    rows = [
        {"day": day, "sales": sales[day], "visitors": visitors[day]}
        for day in sorted(sales.keys() & visitors.keys())
    ]
    print(f"clean_data kept {len(rows)} complete rows")
    return rows


def analyse_data(context=None):
    """Compute the conversion rate of each day and its mean."""
    rows = _upstream(context, "clean_data", [])
    rates = [row["sales"] / row["visitors"] for row in rows]
    mean = statistics.fmean(rates) if rates else 0.0
    logger.info("mean conversion rate %.4f", mean)
    return {"days": len(rates), "mean_conversion": round(mean, 6)}


def post_process(context=None, report_title="Daily report"):
    """Format the analysis as a short report."""
    analysis = _upstream(context, "analyse_data", {}) or {}
    return {
        "title": report_title,
        "summary": f"{analysis.get('days', 0)} days, mean conversion {analysis.get('mean_conversion', 0)}",
    }


# An ML-style pipeline with a nested group --------------------------------------------


def generate_data(n_points=200, slope=2.0, intercept=1.0, noise=0.5, seed=7):
    """Generate noisy points on a line y = slope * x + intercept."""
    rng = random.Random(seed)
    points = [[x / 10, slope * x / 10 + intercept + rng.gauss(0, noise)] for x in range(n_points)]
    logger.info("generated %d points", len(points))
    return points


def split_data(context=None, test_fraction=0.25, seed=7):
    """Shuffle the points and split them into a training and a test set."""
    points = list(_upstream(context, "generate_data", []))
    random.Random(seed).shuffle(points)
    cut = int(len(points) * (1 - test_fraction))
    return {"train": points[:cut], "test": points[cut:]}


def fit_linear_model(context=None):
    """Fit y = slope * x + intercept by least squares (statistics.linear_regression)."""
    train = (_upstream(context, "split_data", {}) or {}).get("train", [])
    xs, ys = [x for x, _ in train], [y for _, y in train]
    slope, intercept = statistics.linear_regression(xs, ys)
    logger.info("fitted slope=%.3f intercept=%.3f", slope, intercept)
    return {"slope": slope, "intercept": intercept}


def train_model(context=None):
    """Gather what the group's children made: the model and its training size."""
    model = _upstream(context, "fit_linear_model", {}) or {}
    split = _upstream(context, "split_data", {}) or {}
    return {"model": model, "train_size": len(split.get("train", [])), "test": split.get("test", [])}


def evaluate_model(context=None, max_rmse=1.0):
    """Measure the model's root mean squared error on the test set."""
    trained = _upstream(context, "train_model", {}) or {}
    model, test = trained.get("model", {}), trained.get("test", [])
    errors = [(model["slope"] * x + model["intercept"] - y) ** 2 for x, y in test]
    rmse = statistics.fmean(errors) ** 0.5 if errors else 0.0
    logger.info("test RMSE %.4f (limit %.2f)", rmse, max_rmse)
    return {"rmse": round(rmse, 6), "passed": rmse <= max_rmse}


# A flow with a task that fails ------------------------------------------------------


def prepare_batch(batch_size=10):
    """Prepare a batch of work items."""
    return list(range(batch_size))


def flaky_step(context=None, fail=True):
    """Process the batch; fails on purpose (parameter ``fail``) to show errors and retries."""
    batch = _upstream(context, "prepare_batch", []) or []
    print(f"processing {len(batch)} items")
    if fail:
        raise RuntimeError("the remote service answered 503 (this demo task fails on purpose)")
    return {"processed": len(batch)}


def send_report(context=None):
    """Report the processed batch; never runs when flaky_step fails."""
    return {"sent": True, "result": _upstream(context, "flaky_step")}
