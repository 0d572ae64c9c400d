"""The predecessor's flow ``pipeline_simple_ml`` (django-flow-forge d46e1bf, example_app/flow___simple_ml.py).

Copied as it was, except: ``train_model`` declares ``context`` and records its
metrics and labels with it where it created an ``MLResult``; the registration
is in ``flows.py`` (``register_task_flow`` is ``register_task_pipeline`` here).
"""

from datetime import datetime

import xgboost as xgb
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score, recall_score
from sklearn.model_selection import train_test_split


def fetch_data1():
    return


def clean_data():
    # Load some data, clean it then store it
    return True


def analyze_data():
    # Simple analysis - just summarizing the data
    analysis = "Some Summary Analysis"
    return {"forecast_date": str(datetime.now()), "analysis": analysis}


def train_model(context, **kwargs):
    # Generating synthetic data for demonstration
    X, y = make_classification(n_samples=1000, n_features=10, n_classes=2, random_state=42)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

    # Training XGBoost model
    dtrain = xgb.DMatrix(X_train, label=y_train)
    dtest = xgb.DMatrix(X_test, label=y_test)

    params = {
        "max_depth": 3,
        "eta": 0.1,
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "seed": 42,
    }

    num_rounds = 100
    model = xgb.train(params, dtrain, num_rounds, evals=[(dtest, "eval")], verbose_eval=False)

    # Predictions
    y_pred = model.predict(dtest)
    y_pred_binary = (y_pred > 0.5).astype(int)  # Converting probabilities to binary output

    # Metrics
    conf_matrix = confusion_matrix(y_test, y_pred_binary)
    accuracy = accuracy_score(y_test, y_pred_binary)
    precision = precision_score(y_test, y_pred_binary)
    recall = recall_score(y_test, y_pred_binary)
    f1 = f1_score(y_test, y_pred_binary)

    # Storing metrics in a dictionary
    metrics = {
        "confusion_matrix": conf_matrix.tolist(),  # Converting numpy array to list for JSON serialization
        "accuracy": accuracy,
        "precision": precision,
        "recall": recall,
        "f1_score": f1,
    }

    # Metrics are numbers: the confusion matrix goes with the labels.
    context.log_metrics({name: value for name, value in metrics.items() if name != "confusion_matrix"})
    context.set_tag("experiment", "Experiment with synthetic data.")
    context.set_tag("algorithm", "xgboost")
    context.set_tag("parameters", params)
    context.set_tag("confusion_matrix", metrics["confusion_matrix"])

    return
