"""Runs' logical date and data interval; schedules pass their intended fire time.

Existing runs get their creation time as logical date; the column defaults to
the insert's time in the database too, for the previous release's code that
may still launch runs during an upgrade. The Django-Q2 rows of
existing schedules are told to pass the time they were due as the
``intended_date`` keyword (q_schedules.sync_q_schedule sets it on new ones);
a worker of the previous release does not take it, so a fire it picks up
during the upgrade fails once.
"""

import django.db.models.functions.datetime
import django.utils.timezone
from django.db import migrations, models
from django.db.models import F

FIRE_FUNC = "flowforge_admin.engine.schedule_fire.fire"


def forwards(apps, schema_editor):
    apps.get_model("flowforge_admin", "FlowRun").objects.update(logical_date=F("created_at"))
    apps.get_model("django_q", "Schedule").objects.filter(func=FIRE_FUNC).update(
        intended_date_kwarg="intended_date"
    )


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FIRE_FUNC).update(intended_date_kwarg=None)


class Migration(migrations.Migration):
    dependencies = [
        ("flowforge_admin", "0010_artifacts_metrics_tags"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="flowrun",
            name="data_interval_end",
            field=models.DateTimeField(blank=True, null=True, verbose_name="data interval end"),
        ),
        migrations.AddField(
            model_name="flowrun",
            name="data_interval_start",
            field=models.DateTimeField(blank=True, null=True, verbose_name="data interval start"),
        ),
        migrations.AddField(
            model_name="flowrun",
            name="logical_date",
            field=models.DateTimeField(null=True, verbose_name="logical date"),
        ),
        migrations.RunPython(forwards, backwards, elidable=True),
        migrations.AlterField(
            model_name="flowrun",
            name="logical_date",
            field=models.DateTimeField(
                db_default=django.db.models.functions.datetime.Now(),
                default=django.utils.timezone.now,
                verbose_name="logical date",
            ),
        ),
        migrations.AddIndex(
            model_name="flowrun",
            index=models.Index(fields=["flow", "-logical_date"], name="flowforge_run_flow_logical"),
        ),
        migrations.AddIndex(
            model_name="flowrun",
            index=models.Index(fields=["logical_date"], name="flowforge_run_logical_date"),
        ),
    ]
