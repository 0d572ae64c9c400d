"""Schedules' Django-Q2 rows call the fire function at its new path.

``flowforge_admin.engine.schedules`` became ``flowforge_admin.engine.schedule_fire``;
Django-Q2 stores the function as a dotted path, so existing rows are updated
(the scheduler would otherwise fail to import the old path at every fire).
"""

from django.db import migrations

OLD = "flowforge_admin.engine.schedules.fire"
NEW = "flowforge_admin.engine.schedule_fire.fire"


def forwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=OLD).update(func=NEW)


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=NEW).update(func=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("flowforge_admin", "0007_run_revision"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
