"""The form an approver fills in: the fields of the step's ``params_schema``, and a comment.

Built as the launch form is (one field per property of the JSON Schema, the
same widgets and the same check, :func:`~flowforge_admin.definitions.params.check_run_params`),
without what only a launch has (other parameters, the logical date).
Approving needs the fields to be valid; rejecting needs only a comment,
which becomes the task's error.
"""

import re
from types import SimpleNamespace

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .launch import EXTRA, LOGICAL_DATE, LaunchForm

COMMENT = "approval-comment"  # not a Python identifier: no parameter can be called that
APPROVE, REJECT = "approve", "reject"
KEY_HINT = re.compile(r"\s*Key: [^ ]+\.$")


class ApprovalForm(LaunchForm):
    """Decide an approval step of task ``task_name`` whose form is ``schema`` (None: no fields)."""

    error_messages = {
        **LaunchForm.error_messages,
        "comment_required": _("Say why you reject it: the comment becomes the task's error."),
        "no_decision": _("Choose Approve or Reject."),
    }

    def __init__(self, task_name, schema, data=None):
        step = SimpleNamespace(
            name=f"{task_name} (approval)", params={}, params_schema=schema, is_paused=False
        )
        super().__init__(step, data=data)
        del self.fields[EXTRA]
        del self.fields[LOGICAL_DATE]
        self.fields[COMMENT] = forms.CharField(
            label=_("Comment"),
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
            help_text=_("Recorded in the task's log and the admin log. Required to reject."),
        )
        self.decision = (data or {}).get("decision")
        for name in self.param_names:
            # The "Key: x." hint is for a run's parameters (run_flow --param, the API); not here.
            self.fields[name].help_text = KEY_HINT.sub("", str(self.fields[name].help_text)).strip()
        if self.decision == REJECT:
            for name in self.param_names:
                self.fields[name].required = False  # a rejection carries no data

    def clean(self):
        if self.decision not in (APPROVE, REJECT):
            raise ValidationError(self.error_messages["no_decision"], code="no_decision")
        if self.decision == REJECT:
            # A rejection carries no data: only its reason counts.
            if not (self.cleaned_data.get(COMMENT) or "").strip():
                self.add_error(
                    COMMENT, ValidationError(self.error_messages["comment_required"], code="required")
                )
            return self.cleaned_data
        return super().clean()

    def _field_of(self, message):
        field, text = super()._field_of(message)
        # Every property of the schema has a field here: no "other parameters" box to fall back on.
        return (None if field == EXTRA else field), text

    def comment(self):
        return (self.cleaned_data.get(COMMENT) or "").strip()

    def approved_data(self):
        """The approver's data (the step's output); call after ``is_valid()`` for an approval."""
        return self.params()
