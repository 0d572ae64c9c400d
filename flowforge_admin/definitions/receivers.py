"""Signal receivers that keep a flow's version in step with ORM edits of its definition.

Whatever saves a task, deletes one, changes its dependencies or the flow's
default parameters (the admin, a shell, a command), the flow is queued for
:func:`flowforge_admin.definitions.store.sync_version_on_commit`: its version
rises once per transaction if the definition really changed. Imported by
``FlowForgeAdminConfig.ready``. Writes that send no signals
(``QuerySet.update()``, bulk writes, ``Task.objects.rebuild()``) are not seen
here: see :mod:`flowforge_admin.definitions.store`.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from ..models import Flow, Task
from . import store

# The flow's fields that are definition (FlowSpec.signature); the rest are labels.
FLOW_DEFINITION_FIELDS = frozenset({"params", "params_schema"})
# The task's fields that are captured text, not definition.
TASK_TEXT_FIELDS = frozenset({"docstring", "source", "updated_at"})


@receiver(post_save, sender=Flow, dispatch_uid="flowforge_flow_version")
def flow_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    # A fixture (raw) brings its own version and definition hash.
    if not raw and (update_fields is None or FLOW_DEFINITION_FIELDS & update_fields):
        store.sync_version_on_commit(instance.pk)


@receiver(post_save, sender=Task, dispatch_uid="flowforge_task_version")
def task_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    # Task moves (django-mptt's move_to) end in a save too.
    if not raw and (update_fields is None or not update_fields <= TASK_TEXT_FIELDS):
        store.sync_version_on_commit(instance.flow_id)


@receiver(post_delete, sender=Task, dispatch_uid="flowforge_task_deleted_version")
def task_deleted(sender, instance, **kwargs):
    # Also sent for the tasks of a deleted flow: the sync skips a flow that is gone.
    store.sync_version_on_commit(instance.flow_id)


@receiver(m2m_changed, sender=Task.depends_on.through, dispatch_uid="flowforge_dependency_version")
def dependencies_changed(sender, instance, action, **kwargs):
    # Either end of a dependency will do: both tasks are in one flow (see rules).
    if action in ("post_add", "post_remove", "post_clear"):
        store.sync_version_on_commit(instance.flow_id)
