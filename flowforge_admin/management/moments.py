"""Dates and times given to the commands on their command line."""

import datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def parse_moment(option, text, naive_zone=None):
    """Turn an ISO 8601 date or date and time into an aware datetime; raise ValueError naming ``option``.

    A date is its midnight; a moment that names no offset is in ``naive_zone``
    (None: the current time zone, TIME_ZONE).
    """
    try:
        moment = parse_datetime(text) or parse_date(text)
    except ValueError:  # well formed but no such date, such as 2026-02-30
        moment = None
    if moment is None:
        raise ValueError(
            f"{option} {text!r} is not an ISO 8601 date or date and time (such as 2026-01-31 or "
            "2026-01-31T06:00:00Z)"
        )
    if not isinstance(moment, datetime.datetime):
        moment = datetime.datetime.combine(moment, datetime.time())
    return timezone.make_aware(moment, naive_zone) if timezone.is_naive(moment) else moment
