"""Alert callables of the tests: the tests that use them list this module in FLOWFORGE_FUNCTION_MODULES."""

received = []


def page_oncall(payload):
    """Keep the payload (alerts called in this process)."""
    received.append(payload)
