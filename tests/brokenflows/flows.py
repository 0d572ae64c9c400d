"""The predecessor's example flow, broken as it was: ``clean_data`` depends on
``fetch_data1``, which the flow never defines. Registering it must fail.
"""

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.demo import tasks

BROKEN_FLOW = "pipeline_seed_example"

register_task_pipeline(
    flow_name=BROKEN_FLOW,
    clear_existing_flow_in_db=True,
    pipeline={
        "fetch_data2": {
            "function": tasks.fetch_data2,
            "depends_on": [],
            "verbose_name": "Fetch data 2",
            "nested_tasks": {
                "fetch_data2a": {"function": tasks.fetch_data1, "depends_on": []},
            },
        },
        "clean_data": {
            "function": tasks.clean_data,
            "depends_on": ["fetch_data1", "fetch_data2"],
            "verbose_name": "Clean data",
        },
        "analyse_data": {"function": tasks.analyse_data, "depends_on": ["clean_data"]},
    },
)
