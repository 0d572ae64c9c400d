"""The predecessor's two ML flows, registered with its names and pipeline dicts.

The predecessor registered each at import, with ``register_task_flow``; here
a test calls these functions, so that the flows go into its own database.
"""

from flowforge_admin.api import register_task_pipeline

from . import grid_search, simple_ml


def register_simple_ml():
    return register_task_pipeline(
        flow_name="pipeline_simple_ml",
        clear_existing_flow_in_db=True,
        pipeline={
            "fetch_data1": {"function": simple_ml.fetch_data1, "depends_on": []},
            "clean_data": {"function": simple_ml.clean_data, "depends_on": ["fetch_data1"]},
            "analyze_data": {"function": simple_ml.analyze_data, "depends_on": ["clean_data"]},
            "train_model": {"function": simple_ml.train_model, "depends_on": ["analyze_data"]},
        },
    )


def register_ml_grid_search():
    return register_task_pipeline(
        flow_name="pipeline_ml_with_grid_search",
        clear_existing_flow_in_db=True,
        pipeline={
            "fetch_data2": {"function": grid_search.fetch_data2, "depends_on": []},
            "clean_data": {"function": grid_search.clean_data, "depends_on": ["fetch_data2"]},
            "analyze_data": {"function": grid_search.analyze_data, "depends_on": ["clean_data"]},
            "grid_search_multiple_models": {
                "function": grid_search.grid_search_multiple_models,
                "depends_on": ["analyze_data"],
            },
        },
    )
