from django.db import models, transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from mptt.managers import TreeManager
from mptt.models import MPTTModel, TreeForeignKey
from mptt.querysets import TreeQuerySet

from .. import q_schedules


class FlowQuerySet(models.QuerySet):
    def get_by_natural_key(self, name):
        return self.get(name=name)


class Flow(models.Model):
    """A DAG of tasks, edited in admin or registered from code."""

    class Origin(models.TextChoices):
        CODE = "code", _("code")  # set by register_task_pipeline
        ADMIN = "admin", _("admin")  # set when created in the admin
        IMPORT = "import", _("import file")  # set by imports

    name = models.CharField(
        _("name"),
        max_length=100,
        unique=True,
        help_text=_("Machine name: letters, digits, '_' and '-'."),
    )
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_paused = models.BooleanField(
        _("paused"),
        default=False,
        db_index=True,
        help_text=_("A paused flow cannot be launched and its schedules do not fire."),
    )
    params = models.JSONField(
        _("default parameters"),
        default=dict,
        blank=True,
        help_text=_("JSON object of parameters given to every run unless overridden."),
    )
    params_schema = models.JSONField(
        _("parameters schema"),
        null=True,
        blank=True,
        help_text=_("Optional JSON Schema that the parameters of a run must satisfy."),
    )
    max_active_runs = models.PositiveIntegerField(
        _("max active runs"),
        null=True,
        blank=True,
        help_text=_(
            "How many runs of this flow may be active at once; more wait, queued, and start in launch "
            "order. Empty: no limit."
        ),
    )
    origin = models.CharField(
        _("defined in"), max_length=10, choices=Origin.choices, default=Origin.ADMIN, db_index=True
    )
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        editable=False,
        help_text=_("Increases whenever the tasks, their nesting or dependencies change."),
    )
    # Hash of the definition the version stands for (FlowSpec.signature):
    # lets every entrance tell "saved again unchanged" from "changed".
    definition_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last change"), auto_now=True, db_index=True)

    objects = FlowQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("flow")
        verbose_name_plural = _("flows")
        permissions = [("launch_flow", _("Can launch runs of a flow"))]

    def __str__(self):
        return self.display_name or self.name

    def save(self, *args, **kwargs):
        with transaction.atomic():
            super().save(*args, **kwargs)
            # Pausing a flow pauses its schedules' Django-Q2 rows (and resuming resumes them).
            if self.schedules.exists():
                q_schedules.sync_flow_schedules(self)

    def get_absolute_url(self):
        return reverse("admin:flowforge_admin_flow_change", args=[self.pk])

    def natural_key(self):
        return (self.name,)


class TaskQuerySet(TreeQuerySet):
    def get_by_natural_key(self, flow_name, name):
        return self.get(flow__name=flow_name, name=name)


class Task(MPTTModel):
    """A step of a flow. A task with children is a group (see DESIGN.md)."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("flow"))
    parent = TreeForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("group"),
        help_text=_("The group this task is nested in."),
    )
    name = models.CharField(
        _("name"),
        max_length=100,
        help_text=_("Unique in its flow: letters, digits, '_' and '-'."),
    )
    verbose_name = models.CharField(_("verbose name"), max_length=200, blank=True)
    function = models.CharField(
        _("function"),
        max_length=255,
        blank=True,
        db_index=True,
        help_text=_("Dotted path of the function it runs; empty for a pure group."),
    )
    docstring = models.TextField(_("docstring"), blank=True, editable=False)
    source = models.TextField(_("source"), blank=True, editable=False)
    params = models.JSONField(_("default parameters"), default=dict, blank=True)
    retries = models.PositiveIntegerField(_("retries"), default=0)
    retry_delay = models.PositiveIntegerField(
        _("retry delay (s)"),
        default=0,
        help_text=_("Seconds before the first retry; doubles for each further one."),
    )
    timeout = models.PositiveIntegerField(
        _("timeout (s)"), null=True, blank=True, help_text=_("Empty: the worker's limit.")
    )
    pool = models.CharField(
        _("pool"),
        max_length=100,
        blank=True,
        help_text=_("The pool whose slots it takes while queued or running. Empty: the default pool."),
    )
    pool_slots = models.PositiveIntegerField(_("pool slots"), default=1)
    queue = models.CharField(
        _("queue"),
        max_length=100,
        blank=True,
        help_text=_("The Django-Q2 cluster that runs it. Empty: the project's own cluster."),
    )
    sensor = models.JSONField(
        _("sensor"),
        null=True,
        blank=True,
        help_text=_(
            'Empty: an ordinary task. {"interval": s, "timeout": s, "on_timeout": "fail" or "skip"}: '
            "its function is checked every interval seconds until it returns a true value."
        ),
    )
    map_over = models.CharField(
        _("map over"),
        max_length=100,
        blank=True,
        db_default="",  # the previous release's code, still running during an upgrade, leaves it out
        help_text=_("An upstream task whose output is a list: this task runs once per item. Empty: once."),
    )
    map_param = models.CharField(
        _("map parameter"),
        max_length=100,
        blank=True,
        db_default="",
        help_text=_("The parameter each mapped instance receives its item as. Empty: item."),
    )
    approval = models.JSONField(
        _("approval"),
        null=True,
        blank=True,
        help_text=_(
            'Empty: an ordinary task. {"group": "<Django group>", "params_schema": {...}, "timeout": s} '
            "(each optional): a step a person approves or rejects; it runs no function."
        ),
    )
    depends_on = models.ManyToManyField(
        "self",
        symmetrical=False,
        related_name="downstream",
        blank=True,
        verbose_name=_("depends on"),
    )

    objects = TreeManager.from_queryset(TaskQuerySet)()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            models.UniqueConstraint(fields=["flow", "name"], name="flowforge_task_unique_name_in_flow")
        ]
        indexes = [models.Index(fields=["flow", "tree_id", "lft"], name="flowforge_task_flow_tree")]

    class MPTTMeta:
        # Sibling order is the editor's (drag and drop) and the registration's
        # (dict order), so no order_insertion_by.
        order_insertion_by = []

    def __str__(self):
        return self.verbose_name or self.name

    def get_absolute_url(self):
        return reverse("admin:flowforge_admin_task_change", args=[self.pk])

    def natural_key(self):
        return (self.flow.name, self.name)

    natural_key.dependencies = ["flowforge_admin.flow"]

    @property
    def is_group(self):
        return not self.is_leaf_node()


class DependencyManager(models.Manager):
    """Reads each dependency row with its two tasks (for their names)."""

    def get_queryset(self):
        return super().get_queryset().select_related("from_task", "to_task")


def _dependency_label(dependency):
    return f"{dependency.to_task.name} → {dependency.from_task.name}"


def _name_dependency_rows(through):
    """Give the rows of ``Task.depends_on`` a name, and a label that reads "load → clean".

    The delete confirmation of a task or flow lists these rows; Django's own
    names for them read "From_task-to_task relationship: Task_depends_on
    object (17)". The table stays Django's auto-created one: declaring it as
    a model would take the field out of the admin form and the fixtures.
    """
    through._meta.verbose_name = _("dependency")
    through._meta.verbose_name_plural = _("dependencies")
    through.__str__ = _dependency_label
    # Django lists the rows to delete through the base manager: read the
    # tasks in the same query, not two queries per row for the label.
    through.add_to_class("with_tasks", DependencyManager())
    through._meta.base_manager_name = "with_tasks"


_name_dependency_rows(Task.depends_on.through)
