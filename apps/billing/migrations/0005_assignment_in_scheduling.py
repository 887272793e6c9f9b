# Assignment moved from telemetry to scheduling (same table): repoint the model state only.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0004_drop_unused_low_balance_warned_at"),
        ("scheduling", "0002_assignment_from_telemetry"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name=model,
                    name="assignment",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                            to="scheduling.assignment"),
                )
                for model in ("meterevent", "usagerecord")
            ],
            database_operations=[],
        ),
    ]
