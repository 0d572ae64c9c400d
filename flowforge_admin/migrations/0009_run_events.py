"""A run's own history (RunEvent): every change asked of a run, with or without a user."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("flowforge_admin", "0008_schedule_fire_path"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RunEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="time")),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("launch", "launch"),
                            ("cancel", "cancel"),
                            ("rerun_failed", "re-run failed"),
                            ("retry_task", "retry task"),
                            ("mark_task", "mark task"),
                            ("clear_tasks", "clear tasks"),
                        ],
                        max_length=20,
                        verbose_name="action",
                    ),
                ),
                ("message", models.TextField(verbose_name="message")),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="flowforge_admin.flowrun",
                        verbose_name="run",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "run event",
                "verbose_name_plural": "run events",
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["run", "created_at"], name="flowforge_runevent_run_time")],
            },
        ),
    ]
