"""Demo flows registered from code; imported only by ``manage.py sync_flows``."""

from flowforge_admin.api import register_task_pipeline

from . import tasks

register_task_pipeline(
    flow_name="demo_pipeline_simple",
    display_name="Simple pipeline",
    description="The predecessor's example: fetch two datasets, clean, analyse, post-process.",
    clear_existing_flow_in_db=True,
    pipeline={
        "fetch_data1": {"function": tasks.fetch_data1, "depends_on": [], "verbose_name": "Fetch sales"},
        "fetch_data2": {"function": tasks.fetch_data2, "depends_on": [], "verbose_name": "Fetch visitors"},
        "clean_data": {
            "function": tasks.clean_data,
            "depends_on": ["fetch_data1", "fetch_data2"],
            "verbose_name": "Clean and join",
        },
        "analyse_data": {
            "function": tasks.analyse_data,
            "depends_on": ["clean_data"],
            "verbose_name": "Analyse",
        },
        "post_process": {
            "function": tasks.post_process,
            "depends_on": ["analyse_data"],
            "verbose_name": "Post-process",
            "params": {"report_title": "Daily report"},
        },
    },
)

register_task_pipeline(
    flow_name="demo_pipeline_simple_ml",
    display_name="Simple ML pipeline",
    description=(
        "NumPy arrays and a model passed between tasks as artifacts: generate data, split it and "
        "train a linear model in a nested group (its loss logged per epoch), evaluate it (rmse, r2, mae)."
    ),
    params={"n_points": 200},
    # Checked at every launch (admin, code, schedule); the admin's Run form is built from it.
    params_schema={
        "type": "object",
        "properties": {
            "n_points": {
                "type": "integer",
                "minimum": 10,
                "maximum": 100000,
                "title": "Number of points",
                "description": "How many noisy rows (3 features each) generate_data makes.",
            },
            "noise": {
                "type": "number",
                "minimum": 0,
                "default": 0.5,
                "description": "Standard deviation of the noise added to each target.",
            },
            "test_fraction": {
                "enum": [0.1, 0.25, 0.5],
                "default": 0.25,
                "title": "Test share",
                "description": "Share of the rows split_data keeps aside to evaluate the model.",
            },
            "max_rmse": {
                "type": "number",
                "exclusiveMinimum": 0,
                "default": 1.0,
                "title": "Largest accepted error",
                "description": "evaluate_model reports the model as failed above this RMSE.",
            },
        },
        "required": ["n_points"],
    },
    pipeline={
        "generate_data": {"function": tasks.generate_data, "depends_on": [], "verbose_name": "Generate data"},
        "train_model": {
            "function": tasks.train_model,
            "depends_on": ["generate_data"],
            "verbose_name": "Train model",
            "nested_tasks": {
                "split_data": {"function": tasks.split_data, "depends_on": [], "verbose_name": "Split data"},
                "fit_linear_model": {
                    "function": tasks.fit_linear_model,
                    "depends_on": ["split_data"],
                    "verbose_name": "Fit linear model",
                    "timeout": 60,
                },
            },
        },
        "evaluate_model": {
            "function": tasks.evaluate_model,
            "depends_on": ["train_model"],
            "verbose_name": "Evaluate model",
            "params": {"max_rmse": 1.0},
        },
    },
)

register_task_pipeline(
    flow_name="demo_pipeline_with_failure",
    display_name="Pipeline with a failing task",
    description="flaky_step fails on purpose (after two retries), so send_report never runs.",
    pipeline={
        "prepare_batch": {"function": tasks.prepare_batch, "verbose_name": "Prepare batch"},
        "flaky_step": {
            "function": tasks.flaky_step,
            "depends_on": ["prepare_batch"],
            "verbose_name": "Flaky step",
            "retries": 2,
            "retry_delay": 5,
        },
        "send_report": {
            "function": tasks.send_report,
            "depends_on": ["flaky_step"],
            "verbose_name": "Send report",
        },
    },
)

register_task_pipeline(
    flow_name="demo_model_release",
    display_name="Model release with approval",
    description=(
        "Waits for the day's data (a sensor), trains one candidate per setting of a grid (a mapped "
        "task), picks the best, and deploys it only once a model reviewer approves (an approval step)."
    ),
    pipeline={
        "wait_for_partition": {
            "function": tasks.partition_ready,
            "verbose_name": "Wait for the data",
            "sensor": {"interval": 10, "timeout": 3600},
        },
        "parameter_grid": {"function": tasks.parameter_grid, "verbose_name": "Settings to try"},
        "train_candidate": {
            "function": tasks.train_candidate,
            "depends_on": ["parameter_grid", "wait_for_partition"],
            "verbose_name": "Train a candidate",
            "map_over": "parameter_grid",
            "map_param": "setting",
            "retries": 1,
        },
        "pick_best": {
            "function": tasks.pick_best,
            "depends_on": ["train_candidate"],
            "verbose_name": "Pick the best",
        },
        "approve_release": {
            "depends_on": ["pick_best"],
            "verbose_name": "Approve the release",
            "approval": {
                "group": "Model reviewers",
                "timeout": 3 * 24 * 3600,
                "params_schema": {
                    "type": "object",
                    "properties": {
                        "stage": {
                            "enum": ["staging", "production"],
                            "default": "staging",
                            "title": "Deploy to",
                        },
                        "note": {"type": "string", "title": "Release note"},
                    },
                    "required": ["stage"],
                },
            },
        },
        "deploy": {
            "function": tasks.deploy_model,
            "depends_on": ["pick_best", "approve_release"],
            "verbose_name": "Deploy",
        },
    },
)
