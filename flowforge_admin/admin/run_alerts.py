"""The run page's "Alert deliveries" section: what was sent about the run, and how it went."""

# The section shows this many of the newest deliveries (a run has a handful; a flapping task, more).
SHOWN_DELIVERIES = 50


def alert_deliveries(run):
    """Return the run's newest deliveries with their alert and task run, newest first: one query."""
    return list(
        run.alert_deliveries.select_related("alert", "task_run")
        .only(
            "event",
            "channel",
            "target",
            "message",
            "status",
            "attempts",
            "last_error",
            "response_code",
            "created_at",
            "sent_at",
            "next_attempt_at",
            "run_id",
            "alert__name",
            "task_run__task_name",
        )
        .order_by("-created_at", "-id")[:SHOWN_DELIVERIES]
    )
