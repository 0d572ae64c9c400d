"""Artifacts (task outputs that are not JSON), metrics and tags; downloads in a run's history."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("flowforge_admin", "0009_run_events"),
    ]

    operations = [
        migrations.AlterField(
            model_name="runevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("launch", "launch"),
                    ("cancel", "cancel"),
                    ("rerun_failed", "re-run failed"),
                    ("retry_task", "retry task"),
                    ("mark_task", "mark task"),
                    ("clear_tasks", "clear tasks"),
                    ("download_artifact", "download artifact"),
                ],
                max_length=20,
                verbose_name="action",
            ),
        ),
        migrations.CreateModel(
            name="Artifact",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("attempt", models.PositiveIntegerField(verbose_name="attempt")),
                ("path", models.CharField(max_length=255, verbose_name="file")),
                (
                    "serializer",
                    models.CharField(
                        help_text="How the value was written.", max_length=50, verbose_name="serializer"
                    ),
                ),
                (
                    "type_name",
                    models.CharField(
                        help_text="The Python type of the value.", max_length=200, verbose_name="type"
                    ),
                ),
                (
                    "size",
                    models.PositiveBigIntegerField(help_text="Bytes in the store.", verbose_name="size"),
                ),
                ("signature", models.CharField(max_length=64, verbose_name="signature")),
                ("preview", models.JSONField(default=dict, verbose_name="preview")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created"),
                ),
                (
                    "task_run",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="artifact",
                        to="flowforge_admin.taskrun",
                        verbose_name="task run",
                    ),
                ),
            ],
            options={
                "verbose_name": "artifact",
                "verbose_name_plural": "artifacts",
            },
        ),
        migrations.CreateModel(
            name="Metric",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("attempt", models.PositiveIntegerField(verbose_name="attempt")),
                ("name", models.CharField(max_length=100, verbose_name="name")),
                ("value", models.FloatField(blank=True, null=True, verbose_name="value")),
                ("step", models.BigIntegerField(blank=True, null=True, verbose_name="step")),
                ("logged_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="time")),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="metrics",
                        to="flowforge_admin.flowrun",
                        verbose_name="run",
                    ),
                ),
                (
                    "task_run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="metrics",
                        to="flowforge_admin.taskrun",
                        verbose_name="task run",
                    ),
                ),
            ],
            options={
                "verbose_name": "metric",
                "verbose_name_plural": "metrics",
                "ordering": ["run", "name", "step", "id"],
                "indexes": [models.Index(fields=["run", "name", "id"], name="flowforge_metric_run_name")],
            },
        ),
        migrations.CreateModel(
            name="Tag",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=100, verbose_name="key")),
                ("value", models.CharField(max_length=500, verbose_name="value")),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tags",
                        to="flowforge_admin.flowrun",
                        verbose_name="run",
                    ),
                ),
                (
                    "task_run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tags",
                        to="flowforge_admin.taskrun",
                        verbose_name="task run",
                    ),
                ),
            ],
            options={
                "verbose_name": "tag",
                "verbose_name_plural": "tags",
                "ordering": ["run", "key", "id"],
                "indexes": [models.Index(fields=["run", "key"], name="flowforge_tag_run_key")],
                "constraints": [
                    models.UniqueConstraint(fields=("task_run", "key"), name="flowforge_tag_unique_key")
                ],
            },
        ),
    ]
