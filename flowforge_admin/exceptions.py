"""Errors raised by Flow Forge."""

from django.core.exceptions import ValidationError


class FlowForgeError(Exception):
    """Base class of every error Flow Forge raises on purpose."""


class FlowDefinitionError(FlowForgeError, ValueError):
    """A flow definition breaks a rule; nothing was written.

    ``problems`` lists every :class:`~flowforge_admin.definitions.rules.Problem`
    found, each naming the flow, the task and the offending item.
    """

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class InvalidTransition(FlowForgeError):
    """The state change asked for is not possible now (e.g. cancelling a finished run).

    Not a permission problem: whether the user may ask at all is checked elsewhere.
    """


class TaskExecutionError(FlowForgeError):
    """A task function ran but its result cannot be used (e.g. an output that cannot be stored)."""


class ArtifactError(TaskExecutionError):
    """An artifact cannot be stored or loaded: missing, unreadable, or its signature does not match.

    The task that needed it fails with this message, which names the artifact.
    """


def refusal_message(error):
    """The text of a refused launch or state change (a ValidationError or any other error), for people."""
    return "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
