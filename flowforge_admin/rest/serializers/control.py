"""Bodies of the requests that change runs: launch, mark, clear, approve and reject."""

from collections import defaultdict

from django import forms
from rest_framework import serializers

from ...forms.launch import FIELD_MESSAGE, REQUIRED_MESSAGE
from .common import MarkStatusField


class LaunchSerializer(serializers.Serializer):
    params = serializers.DictField(
        required=False, default=dict, help_text="Parameters of the run, over the flow's defaults."
    )
    logical_date = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="The moment of data the run is for (ISO 8601). Default: now.",
    )


class LaunchErrorSerializer(serializers.Serializer):
    """A refused launch: ``params`` maps each parameter to the messages the admin's launch form shows at it."""

    params = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    logical_date = serializers.ListField(child=serializers.CharField(), required=False)


def launch_errors(messages):
    """Sort the messages of a refused launch as the launch form shows them: ``{"params": {name: [text]}, ...}``.

    ``check_run_params`` names the parameter at the start of each message
    ("params.batch_size: 0 is less than the minimum of 1"); the form shows
    the rest of it at that parameter's field, and a missing required one as
    the field's "This field is required.". Messages naming no parameter go
    to ``non_field_errors``.
    """
    params, general = defaultdict(list), []
    for message in messages:
        required = REQUIRED_MESSAGE.match(message)
        named = FIELD_MESSAGE.match(message)
        if required:
            params[required["name"]].append(str(forms.Field.default_error_messages["required"]))
        elif named:
            where = f"{named['path']}: " if named["path"] else ""
            params[named["name"]].append(f"{where}{named['message']}")
        else:
            general.append(message)
    errors = {}
    if params:
        errors["params"] = dict(params)
    if general:
        errors["non_field_errors"] = general
    return errors


class MarkSerializer(serializers.Serializer):
    status = MarkStatusField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=True)


class ClearSerializer(serializers.Serializer):
    tasks = serializers.ListField(
        child=serializers.CharField(), allow_empty=False, help_text="Names of the tasks to run again."
    )
    downstream = serializers.BooleanField(
        required=False, default=True, help_text="Also what waits for them (the default)."
    )


class ApproveSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000, help_text="Recorded in the task's log."
    )
    data = serializers.DictField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The step's output: an object that suits its params_schema (default: {}).",
    )


class RejectSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, help_text="Why: it becomes the task's error (required).")
