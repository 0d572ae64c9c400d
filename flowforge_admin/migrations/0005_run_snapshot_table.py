"""Run snapshots move to a table of their own (RunSnapshot), out of the run's row that every task rewrites."""

import django.db.models.deletion
from django.db import migrations, models


def tables(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    runs = apps.get_model("flowforge_admin", "FlowRun")._meta.db_table
    snapshots = apps.get_model("flowforge_admin", "RunSnapshot")._meta.db_table
    return quote(runs), quote(snapshots)


def copy_to_snapshots(apps, schema_editor):
    # One statement, however many runs there are.
    runs, snapshots = tables(apps, schema_editor)
    schema_editor.execute(f"INSERT INTO {snapshots} (run_id, data) SELECT id, snapshot FROM {runs}")


def copy_back_to_runs(apps, schema_editor):
    runs, snapshots = tables(apps, schema_editor)
    schema_editor.execute(f"UPDATE {runs} SET snapshot = (SELECT data FROM {snapshots} WHERE run_id = {runs}.id)")


class Migration(migrations.Migration):
    dependencies = [
        ("flowforge_admin", "0004_run_trigger_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="RunSnapshot",
            fields=[
                (
                    "run",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="definition",
                        serialize=False,
                        to="flowforge_admin.flowrun",
                        verbose_name="run",
                    ),
                ),
                ("data", models.JSONField(verbose_name="definition snapshot")),
            ],
            options={
                "verbose_name": "run snapshot",
                "verbose_name_plural": "run snapshots",
            },
        ),
        # Nullable first, so that going back can add the column again empty and copy into it.
        migrations.AlterField(
            model_name="flowrun",
            name="snapshot",
            field=models.JSONField(editable=False, null=True, verbose_name="definition snapshot"),
        ),
        migrations.RunPython(copy_to_snapshots, copy_back_to_runs),
        migrations.RemoveField(
            model_name="flowrun",
            name="snapshot",
        ),
    ]
