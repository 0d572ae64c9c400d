"""Which task runs the run page shows: a page of them in display order, maybe of one status only.

``?tasks=<n>`` picks the page (TASKS_PER_PAGE rows each), ``?task_status=<status>``
keeps the task runs of that status. A run of 20 000 tasks then renders 100
rows, not 20 000; the order itself is computed once per run (run_page.task_order).
Bad values are reported on the page, which shows the nearest thing that exists.
"""

import zlib
from dataclasses import dataclass, field

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from ..states import TaskState
from .run_page import task_order

TASKS_PER_PAGE = 100
PAGE_PARAM = "tasks"
STATUS_PARAM = "task_status"


@dataclass
class TaskPage:
    """One page of a run's task runs, and how it was asked for."""

    page: object  # django.core.paginator.Page over task names
    status: str  # "" for every status
    errors: list = field(default_factory=list)

    @property
    def names(self):
        return list(self.page.object_list)

    @property
    def key(self):
        """A short digest of what the page holds: the live view redraws the table when it changes."""
        text = "\n".join([self.status, str(self.page.number), str(self.page.paginator.count), *self.names])
        return f"{zlib.crc32(text.encode()):08x}"

    def query(self, number=None, status=None):
        """Return the query string of another page (or status) of the same table."""
        status = self.status if status is None else status
        params = {STATUS_PARAM: status} if status else {}
        number = self.page.number if number is None else number
        if number != 1:
            params[PAGE_PARAM] = number
        return "?" + urlencode(params) if params else "?"

    def links(self):
        """Return [(page number or the ellipsis, query string or None)] for the page navigation."""
        paginator = self.page.paginator
        return [
            (
                number,
                None if number == paginator.ELLIPSIS or number == self.page.number else self.query(number),
            )
            for number in paginator.get_elided_page_range(self.page.number, on_each_side=2, on_ends=1)
        ]


def select_tasks(run, query):
    """Return the TaskPage that ``query`` (the request's GET) asks for.

    One query when filtered by status (the names of the task runs in it, put
    in display order), none otherwise.
    """
    errors = []
    order = task_order(run.pk, run.created_at)
    status = query.get(STATUS_PARAM, "")
    if status and status not in TaskState.values:
        errors.append(
            _("There is no task status “%(status)s” (one of: %(choices)s): every task is shown.")
            % {"status": status, "choices": ", ".join(TaskState.values)}
        )
        status = ""
    if status:
        names = run.task_runs.filter(status=status).values_list("task_name", flat=True)
        position = order.position
        listed = sorted((name for name in names if name in position), key=position.__getitem__)
    else:
        listed = order.names
    paginator = Paginator(listed, TASKS_PER_PAGE)
    return TaskPage(
        paginator.page(_page_number(paginator, query.get(PAGE_PARAM, "1"), errors)), status, errors
    )


def _page_number(paginator, asked, errors):
    try:
        return paginator.validate_number(asked)
    except PageNotAnInteger:
        errors.append(_("Task page “%(page)s” is not a page number: page 1 is shown.") % {"page": asked})
        return 1
    except EmptyPage:
        last = paginator.num_pages
        number = 1 if int(asked) < 1 else last
        errors.append(
            _("There is no task page %(page)s (pages 1 to %(last)s): page %(number)s is shown.")
            % {"page": asked, "last": last, "number": number}
        )
        return number
