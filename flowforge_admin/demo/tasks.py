"""Task functions of the demo flows (the standard library, and NumPy for the ML flow).

Kept apart from ``flows.py`` on purpose: a worker imports this module to run
a task, and registration there would run again for nothing.

Each function takes the run's parameters it declares as keyword arguments;
``context`` when it needs the outputs of its upstream tasks
(``context.upstream``, a mapping of task name to output) or records metrics
and tags (``context.log_metric``, ``log_metrics``, ``set_tag``); and a
parameter named after an upstream task to receive that task's output.

The ML flow passes what ML work passes: NumPy arrays, a tuple of them, a
model object. Those are not JSON, so the engine stores each as an artifact
and gives the next task the value itself.
"""

import datetime
import logging
import statistics

import numpy as np

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


# An ML pipeline with a nested group: NumPy arrays and a model between tasks ------------


class LinearModel:
    """A linear model ``y = X @ weights + bias``, as fit_linear_model trains it.

    A plain object, not JSON: the engine stores it as an artifact (pickled)
    and hands it to the tasks downstream as this object again.
    """

    algorithm = "ridge regression (gradient descent)"

    def __init__(self, weights, bias, l2):
        self.weights = weights
        self.bias = bias
        self.l2 = l2

    def predict(self, X):
        """Return the predicted targets of the rows of ``X``."""
        return X @ self.weights + self.bias

    def __repr__(self):
        weights = np.array2string(self.weights, precision=3, separator=", ")
        return f"LinearModel(weights={weights}, bias={self.bias:.3f}, l2={self.l2})"


def generate_data(n_points=200, n_features=3, noise=0.5, seed=7):
    """Generate ``n_points`` rows of features ``X`` and noisy targets ``y``; return the arrays (X, y).

    The targets follow ``y = X @ w + 1`` with ``w`` evenly spaced from 2 to -1,
    plus Gaussian noise of standard deviation ``noise``.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_points, n_features))
    y = X @ np.linspace(2.0, -1.0, n_features) + 1.0 + rng.normal(0.0, noise, n_points)
    logger.info("generated %d points of %d features", n_points, n_features)
    return X, y


def split_data(context, test_fraction=0.25, seed=7):
    """Shuffle the rows and split them; return the arrays (X_train, X_test, y_train, y_test)."""
    X, y = context.upstream["generate_data"]
    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(len(y) * (1 - test_fraction))
    train, test = order[:cut], order[cut:]
    return X[train], X[test], y[train], y[test]


def fit_linear_model(context, epochs=50, learning_rate=0.05, l2=0.01):
    """Train a LinearModel by full-batch gradient descent; log the training loss of each epoch.

    The loss is the mean squared error plus the ridge penalty ``l2 * |w|^2``,
    logged as metric ``loss`` at step ``epoch``.
    """
    X, _, y, _ = context.upstream["split_data"]
    weights, bias = np.zeros(X.shape[1]), 0.0
    for epoch in range(epochs):
        error = X @ weights + bias - y
        context.log_metric("loss", np.mean(error**2) + l2 * weights @ weights, step=epoch)
        weights = weights - learning_rate * (2 * X.T @ error / len(y) + 2 * l2 * weights)
        bias = bias - learning_rate * 2 * error.mean()
    model = LinearModel(weights, float(bias), l2)
    logger.info("fitted %r in %d epochs", model, epochs)
    return model


def train_model(split_data, fit_linear_model):
    """Gather what the group's children made: the model and the test set; return (model, X_test, y_test).

    Its parameters are named after its children, so it receives their outputs.
    """
    _, X_test, _, y_test = split_data
    return fit_linear_model, X_test, y_test


def evaluate_model(train_model, context, max_rmse=1.0):
    """Measure the model on the test set: log rmse, r2 and mae with the model's tags; return them.

    ``passed`` says whether the RMSE is at most ``max_rmse``.
    """
    model, X, y = train_model
    errors = model.predict(X) - y
    metrics = {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "r2": float(1 - np.sum(errors**2) / np.sum((y - y.mean()) ** 2)),
        "mae": float(np.mean(np.abs(errors))),
    }
    context.log_metrics(metrics)
    context.set_tag("algorithm", model.algorithm)
    context.set_tag("n_features", X.shape[1])
    logger.info("test RMSE %.4f (limit %.2f)", metrics["rmse"], max_rmse)
    return {
        **{name: round(value, 6) for name, value in metrics.items()},
        "passed": metrics["rmse"] <= max_rmse,
    }


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


# A model release: a sensor, a grid search mapped over its settings, an approval ----------


def partition_ready(context, ready_after=20):
    """A sensor's check: whether the day's data partition has landed; return it when it has.

    Stands in for "a file arrived" or "a table was loaded": the partition
    counts as landed ``ready_after`` seconds after the run's logical date.
    False until then (the engine checks again after the sensor's interval).
    """
    from django.utils import timezone

    landed = timezone.now() >= context.logical_date + datetime.timedelta(seconds=ready_after)
    if not landed:
        logger.info("partition %s not landed yet", context.logical_date.date())
        return False
    return {"partition": context.logical_date.date().isoformat(), "rows": 400}


def parameter_grid(l2_values=(0.0, 0.01, 0.1, 1.0), learning_rates=(0.05, 0.1)):
    """The settings to try: one dict per pair of ridge penalty and learning rate."""
    return [{"l2": l2, "learning_rate": rate} for l2 in l2_values for rate in learning_rates]


def train_candidate(context, setting, wait_for_partition, seed=7):
    """Train one candidate (a mapped instance: one per setting of the grid); return its test metrics."""
    rows = wait_for_partition["rows"]
    X, y = generate_data(n_points=rows, seed=seed)
    cut = int(rows * 0.75)
    weights, bias = np.zeros(X.shape[1]), 0.0
    for _ in range(60):
        error = X[:cut] @ weights + bias - y[:cut]
        weights -= setting["learning_rate"] * (2 * X[:cut].T @ error / cut + 2 * setting["l2"] * weights)
        bias -= setting["learning_rate"] * 2 * error.mean()
    rmse = float(np.sqrt(np.mean((X[cut:] @ weights + bias - y[cut:]) ** 2)))
    context.log_metric("rmse", rmse)
    logger.info("candidate %d (%s): test RMSE %.4f", context.map_index, setting, rmse)
    return {**setting, "rmse": round(rmse, 6)}


def pick_best(train_candidate):
    """The candidate with the lowest test RMSE, from the list of every candidate's metrics (in grid order)."""
    best = min(train_candidate, key=lambda candidate: candidate["rmse"])
    return {"best": best, "candidates": len(train_candidate)}


def deploy_model(pick_best, approve_release):
    """Deploy the chosen candidate to the stage its approver chose (the approval step's output)."""
    stage = approve_release.get("stage", "staging")
    logger.info("deploying %s to %s", pick_best["best"], stage)
    return {"deployed": pick_best["best"], "stage": stage}
