"""Errors raised by Flow Forge."""


class FlowForgeError(Exception):
    """Base class of every error Flow Forge raises on purpose."""


class FlowDefinitionError(FlowForgeError, ValueError):
    """A flow definition breaks a rule; nothing was written.

    ``problems`` lists every :class:`~flowforge_admin.validation.Problem`
    found, each naming the flow, the task and the offending item.
    """

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
