# Scheduling owns work dispatch: the Assignment model moves here from telemetry with its data. Only
# Django's model state changes; the table keeps its name (telemetry_assignment) and its rows.
import uuid

import django.db.models.deletion
from django.db import migrations, models


def content_type_move(apps, schema_editor):
    """Keep permissions and any generic references pointing at the same content type row."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="scheduling", model="assignment").exists():
        ContentType.objects.filter(app_label="telemetry", model="assignment").update(app_label="scheduling")


def content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="telemetry", model="assignment").exists():
        ContentType.objects.filter(app_label="scheduling", model="assignment").update(app_label="telemetry")


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0005_node_free_capacity"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("scheduling", "0001_initial"),
        ("telemetry", "0002_assignment_sample"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Assignment",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("spec", models.JSONField(default=dict)),
                        ("desired", models.CharField(choices=[("run", "Run"), ("stop", "Stop")], default="run",
                                                     max_length=8)),
                        ("state", models.CharField(choices=[
                            ("pending", "Waiting for the agent"), ("starting", "Starting"), ("running", "Running"),
                            ("succeeded", "Succeeded"), ("failed", "Failed"), ("stopped", "Stopped"), ("lost", "Lost"),
                        ], db_index=True, default="pending", max_length=12)),
                        ("exit_code", models.IntegerField(blank=True, null=True)),
                        ("log_tail", models.TextField(blank=True)),
                        ("connection", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("last_reported_at", models.DateTimeField(blank=True, null=True)),
                        ("node", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                                   related_name="assignments", to="catalog.node")),
                        ("organization", models.ForeignKey(help_text="the provider that owns the node",
                                                           on_delete=django.db.models.deletion.PROTECT,
                                                           related_name="+", to="tenancy.organization")),
                    ],
                    options={
                        "db_table": "telemetry_assignment",
                        "ordering": ["-created_at"],
                        "indexes": [models.Index(fields=["node", "state"], name="assignment_node_state_idx")],
                    },
                ),
                migrations.AlterField(
                    model_name="allocation",
                    name="assignment",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                            related_name="allocations", to="scheduling.assignment"),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_move, content_type_back),
    ]
