"""A module that is neither registered nor trusted: validation must never import it."""

IMPORTED = True


def run():
    raise AssertionError("this must never run")
