"""Admin forms for flow definitions.

They check an edit by applying it to the flow's whole stored definition and
running :func:`flowforge_admin.definitions.rules.validate_flow`, so an edit in the
admin meets the same rules and messages as registration and import files.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from mptt.forms import MPTTAdminForm, TreeNodeChoiceField

from ..definitions import registry, rules, store
from ..definitions.params import check_params, check_params_schema
from ..definitions.spec import TaskSpec
from ..models import Flow, Task
from ..text import escape_surrogates
from .fields import JSONTextField


def _raise_if(message, code):
    if message:
        raise ValidationError(message, code=code)


class StoredJSONField(JSONTextField):
    """A JSON form field that shows any stored value, and refuses text that cannot be stored.

    A lone surrogate stored before it was refused is shown as its ``\\uXXXX``
    escape, so the page renders (instead of failing to encode for everyone)
    and saving it unchanged names the problem.
    """

    def prepare_value(self, value):
        prepared = super().prepare_value(value)
        return escape_surrogates(prepared) if type(prepared) is str else prepared

    def validate(self, value):
        super().validate(value)
        _raise_if(rules.check_text(value), "invalid_text")


class FlowForm(forms.ModelForm):
    class Meta:
        model = Flow
        fields = [
            "name",
            "display_name",
            "description",
            "is_paused",
            "max_active_runs",
            "params",
            "params_schema",
        ]
        field_classes = {"params": StoredJSONField, "params_schema": StoredJSONField}

    def clean_name(self):
        name = self.cleaned_data["name"]
        _raise_if(rules.check_name(name), "invalid_name")
        return name

    def clean_max_active_runs(self):
        limit = self.cleaned_data["max_active_runs"]
        if limit == 0:
            raise ValidationError(
                _("Give 1 or more runs, or leave it empty for no limit: 0 would never start a run."),
                code="invalid_number",
            )
        return limit

    def clean_params(self):
        params = self.cleaned_data["params"]
        if params in (None, ""):
            return {}
        _raise_if(check_params(params), "invalid_params")
        return params

    def clean_params_schema(self):
        schema = self.cleaned_data["params_schema"]
        _raise_if(check_params_schema(schema), "invalid_params_schema")
        return schema


class TaskChoiceField(TreeNodeChoiceField):
    """A task of the tree; labelled with its flow too when the list spans flows."""

    show_flow = False

    def label_from_instance(self, obj):
        label = super().label_from_instance(obj)
        return f"{obj.flow.name} / {label}" if self.show_flow else label


class TaskMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Tasks by name; labelled with their flow too when the list spans flows."""

    show_flow = False

    def label_from_instance(self, obj):
        return f"{obj.flow.name} / {obj.name}" if self.show_flow else obj.name


class TaskForm(MPTTAdminForm):
    """Add or change one task; the flow's whole definition must stay valid."""

    function = forms.ChoiceField(
        label=_("Function"),
        required=False,
        help_text=_(
            "Functions registered from code or found in FLOWFORGE_FUNCTION_MODULES. "
            "Leave empty for a pure group or a task that only joins others."
        ),
    )

    class Meta:
        model = Task
        fields = [
            "flow",
            "parent",
            "name",
            "verbose_name",
            "function",
            "params",
            "retries",
            "retry_delay",
            "timeout",
            "pool",
            "pool_slots",
            "queue",
            "sensor",
            "map_over",
            "map_param",
            "approval",
            "depends_on",
        ]
        field_classes = {
            "parent": TaskChoiceField,
            "depends_on": TaskMultipleChoiceField,
            "params": StoredJSONField,
        }

    error_messages = {
        "other_flow": _("%(task)r is not a task of this flow (it belongs to flow %(other)r)"),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.flow = self._find_flow()
        choices = registry.function_choices()
        current = self.instance.function
        if current and (current, current) not in choices:
            choices.append((current, f"{current} (no longer allowed)"))
        self.fields["function"].choices = [("", _("— none (a group, or a join point) —")), *choices]
        # Left empty (or absent from a form of an earlier release): one slot.
        if "pool_slots" in self.fields:  # not there for a user who may only view
            self.fields["pool_slots"].required = False
        self._limit_task_choices()

    def _find_flow(self):
        if self.instance.flow_id:
            return self.instance.flow
        # The flow the page was opened for; a flow chosen in the posted form
        # does not limit the choices, so that a task of another flow gets the
        # validation message, not "Select a valid choice".
        flow_id = self.initial.get("flow")
        if isinstance(flow_id, Flow):
            return flow_id
        try:
            return Flow.objects.filter(pk=int(flow_id)).first() if flow_id else None
        except (TypeError, ValueError):
            return None

    def _limit_task_choices(self):
        tasks = Task.objects.select_related("flow").order_by("tree_id", "lft")
        if self.flow is not None:
            tasks = tasks.filter(flow=self.flow)
        for name in ("parent", "depends_on"):
            field = self.fields.get(name)
            if field is None:
                continue
            queryset = tasks
            if self.instance.pk:
                if name == "parent":
                    queryset = queryset.exclude(
                        pk__in=self.instance.get_descendants(include_self=True).values("pk")
                    )
                else:
                    queryset = queryset.exclude(pk=self.instance.pk)
            field.queryset = queryset
            field.show_flow = self.flow is None
            # The admin's autocomplete widget searches this flow's tasks only.
            widget = getattr(field.widget, "widget", field.widget)
            if hasattr(widget, "flow_id"):
                widget.flow_id = self.flow.pk if self.flow is not None else None
                widget.task_id = self.instance.pk

    def clean_params(self):
        params = self.cleaned_data["params"]
        if params in (None, ""):
            return {}
        _raise_if(check_params(params), "invalid_params")
        return params

    def clean(self):
        cleaned_data = super().clean()
        flow = cleaned_data.get("flow") or self.flow
        if flow is None or self.errors:
            return cleaned_data
        self._check_same_flow(flow, cleaned_data)
        if not self.errors:
            self._check_definition(flow, cleaned_data)
        return cleaned_data

    def _check_same_flow(self, flow, cleaned_data):
        parent = cleaned_data.get("parent")
        if parent is not None and parent.flow_id != flow.pk:
            self.add_error("parent", self._other_flow_error(parent))
        for task in cleaned_data.get("depends_on") or ():
            if task.flow_id != flow.pk:
                self.add_error("depends_on", self._other_flow_error(task))

    def clean_pool_slots(self):
        slots = self.cleaned_data.get("pool_slots")
        return 1 if slots is None else slots

    def _other_flow_error(self, task):
        return ValidationError(
            self.error_messages["other_flow"],
            code="other_flow",
            params={"task": task.name, "other": task.flow.name},
        )

    def _check_definition(self, flow, cleaned_data):
        """Apply this edit to the stored definition and report what it breaks."""
        before = store.read_flow_spec(flow)
        parent = cleaned_data.get("parent")
        function = cleaned_data.get("function") or ""
        task = TaskSpec(
            name=cleaned_data.get("name"),
            parent=parent.name if parent else None,
            function=function,
            verbose_name=cleaned_data.get("verbose_name") or "",
            params=cleaned_data.get("params") or {},
            retries=cleaned_data.get("retries"),
            retry_delay=cleaned_data.get("retry_delay"),
            timeout=cleaned_data.get("timeout"),
            pool=cleaned_data.get("pool") or "",
            pool_slots=cleaned_data.get("pool_slots", 1),
            queue=cleaned_data.get("queue") or "",
            sensor=cleaned_data.get("sensor"),
            map_over=cleaned_data.get("map_over") or "",
            map_param=cleaned_data.get("map_param") or "",
            approval=cleaned_data.get("approval"),
            depends_on=tuple(dep.name for dep in cleaned_data.get("depends_on") or ()),
        )
        old_name = self.instance.name if self.instance.pk else None
        after = before.replace_task(old_name, task)
        check = registry.function_checker(paths={function} if function else set())
        # Report what this edit breaks, not what was already there.
        known = set(rules.validate_flow(before, check))
        for problem in rules.validate_flow(after, check):
            if problem in known:
                continue
            field = problem.field if problem.field in self.fields else None
            message = problem.message if field else str(problem)
            self.add_error(field, ValidationError(message, code=problem.code))

    def save(self, commit=True):
        task = super().save(commit=False)
        task.function = self.cleaned_data.get("function") or ""
        task.docstring, task.source = registry.describe_paths([task.function]).get(task.function, ("", ""))
        if commit:
            task.save()
            self._save_m2m()
        return task
