"""Alert callables of the tests: the tests that use them list this module in FLOWFORGE_FUNCTION_MODULES."""

received = []


def page_oncall(payload):
    """Keep the payload (alerts called in this process)."""
    received.append(payload)


def note_lease(payload):
    """Keep what the delivery's row says while it is being sent (its claim's lease)."""
    from flowforge_admin.models import AlertDelivery

    received.append(AlertDelivery.objects.values("attempts", "next_attempt_at").get(pk=payload["delivery"]))
