"""The run admin's views of one task run's output: its artifact's file (audited) and its preview.

- ``artifact``: the artifact's file, streamed from the artifact storage as
  an attachment; each download is recorded in the run's History (a
  RunEvent) and logged on ``flowforge_admin.audit``. GET only: it changes
  nothing else. The file's bytes pass through untouched: the web process
  never loads an artifact.
- ``output/preview``: the output's type, size and compact preview as JSON,
  which the run graph's panel fetches when a task is selected.

``?attempt=N`` asks for an earlier attempt's file (kept when a later attempt
replaced it: admin/attempt_outcome.py); without it, the current attempt's.

Both need the view permission on runs (FlowRunAdmin.get_run): 403 without it.
"""

import logging
import os

from django.http import FileResponse, Http404, JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse

from ..artifacts.storage import get_storage
from ..models import RunEvent, TaskAttempt
from .attempt_outcome import output_owner
from .outputs import artifact_of, summarize, summarize_attempt

audit_log = logging.getLogger("flowforge_admin.audit")


def download_filename(flow_run, task_run, artifact, attempt=None):
    """``<flow>-<run>-<task>[-attempt<n>].<ext>``, the extension of the stored file's name (``.bin`` without one).

    ``attempt``: an earlier attempt's file says which.
    """
    extension = os.path.splitext(artifact.path)[1] or ".bin"
    of_attempt = f"-attempt{attempt}" if attempt else ""
    return f"{flow_run.flow_name}-{flow_run.pk}-{task_run.task_name}{of_attempt}{extension}"


def record_download(flow_run, task_run, owner, user):
    """Record that ``user`` downloaded the artifact of ``owner`` (the task run or an earlier attempt).

    In the run's History (a RunEvent) and on the ``flowforge_admin.audit``
    logger; the admin's download and the REST API's write the same words.
    """
    earlier = owner.attempt if isinstance(owner, TaskAttempt) else None
    summary = summarize_attempt(owner, flow_run.pk) if earlier else summarize(task_run)
    of_attempt = f", attempt {earlier}" if earlier else ""
    message = (
        f"Downloaded the output of task {task_run.task_name}{of_attempt}"
        f" ({summary.type_name}, {summary.size_text})."
    )
    RunEvent.objects.create(
        run=flow_run, user=user, action=RunEvent.Action.DOWNLOAD_ARTIFACT, message=message
    )
    audit_log.info("%s (run #%s, user %s)", message, flow_run.pk, user.get_username())


def not_found(model_admin, request, flow_run, task_run, message):
    """A 404 page in the admin's layout that says what is missing (never a bare error)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": message,
        "opts": model_admin.opts,
        "run": flow_run,
        "task_run": task_run,
        "message": message,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(
        request, "admin/flowforge_admin/flowrun/artifact_missing.html", context, status=404
    )


def artifact_view(model_admin, request, run_id, task_run_id):
    """Stream the artifact file of the task run's current attempt (or ``?attempt=N``); record who downloaded it."""
    flow_run = model_admin.get_run(request, run_id)
    task_run = model_admin.get_task_run(flow_run, task_run_id, related=["artifact"])
    try:
        owner = output_owner(task_run, request.GET.get("attempt"))
    except Http404 as error:
        return not_found(model_admin, request, flow_run, task_run, str(error))
    earlier = owner.attempt if isinstance(owner, TaskAttempt) else None
    artifact = artifact_of(owner)
    if artifact is None:
        of_attempt = f", attempt {earlier}," if earlier else ""
        return not_found(
            model_admin,
            request,
            flow_run,
            task_run,
            f"Task {task_run.task_name}{of_attempt} of this run has no stored output file to download.",
        )
    try:
        file = get_storage().open(artifact.path, "rb")
    except OSError:  # FileNotFoundError, or a storage that cannot read it
        audit_log.warning(
            "The output file %s of task %s (run #%s) is missing from the artifact storage.",
            artifact.path,
            task_run.task_name,
            flow_run.pk,
        )
        return not_found(
            model_admin,
            request,
            flow_run,
            task_run,
            f"The output file of task {task_run.task_name} is missing from the artifact storage.",
        )
    record_download(flow_run, task_run, owner, request.user)
    return FileResponse(
        file,
        as_attachment=True,
        filename=download_filename(flow_run, task_run, artifact, earlier),
        content_type="application/octet-stream",
    )


def preview_view(model_admin, request, run_id, task_run_id):
    """The output's type, size, links and compact preview (HTML of the shared include), as JSON.

    The graph polls every task's status while a run goes on; sending every
    preview with each poll would multiply its size by the tasks' outputs, so
    the poll carries only each output's type and size, and the panel asks
    here for the one task it shows.
    """
    flow_run = model_admin.get_run(request, run_id)
    task_run = model_admin.get_task_run(flow_run, task_run_id, related=["artifact"])
    summary = summarize(task_run)
    if summary is None:
        return JsonResponse({"output": None})
    html = render_to_string(
        "admin/flowforge_admin/outputs/_preview.html", {"output": summary, "compact": True}, request=request
    )
    return JsonResponse(
        {
            "output": {
                "type": summary.type_name,
                "size": summary.size_text,
                "kind": summary.kind,
                "download_url": summary.download_url,
                "html": html,
            }
        }
    )
