"""A task run's log lines: keyset pages of one attempt, as the admin's log page reads them."""

from rest_framework import serializers

from ...logs_query import LEVELS
from .common import TaskStatusField


class LogLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    time = serializers.CharField(source="timestamp", help_text="UTC with milliseconds.")
    level = serializers.CharField(source="level_name", help_text="DEBUG, INFO, WARNING, ERROR, CRITICAL.")
    level_number = serializers.IntegerField(source="level")
    source = serializers.CharField(help_text="Logger name, stdout or stderr.")
    message = serializers.CharField()


class LogPageSerializer(serializers.Serializer):
    """One page of lines in id order, with the links to its neighbours (null at either end)."""

    task = serializers.CharField()
    status = TaskStatusField()
    attempt = serializers.IntegerField(help_text="The attempt these lines belong to.")
    current_attempt = serializers.IntegerField()
    finished = serializers.BooleanField(help_text="Whether the attempt is over: no line will be added.")
    lines = LogLineSerializer(many=True)
    previous = serializers.URLField(allow_null=True, help_text="The page of older lines.")
    next = serializers.URLField(allow_null=True, help_text="The page of newer lines.")


class LogQuerySerializer(serializers.Serializer):
    """The query of a log page (the admin log page's filters, with keyset cursors)."""

    attempt = serializers.IntegerField(min_value=1, required=False, help_text="Default: the current one.")
    level = serializers.ChoiceField(choices=list(LEVELS), required=False, help_text="This level and above.")
    q = serializers.CharField(max_length=200, required=False, help_text="Text the message contains.")
    before = serializers.IntegerField(min_value=1, required=False, help_text="Lines before this id.")
    after = serializers.IntegerField(min_value=0, required=False, help_text="Lines after this id (0: first).")
    page_size = serializers.IntegerField(min_value=1, max_value=500, required=False, help_text="Default 50.")

    def validate(self, data):
        if "before" in data and "after" in data:
            raise serializers.ValidationError("Give before or after, not both.")
        return data
