# Assignment moved to scheduling (scheduling 0002 took over the table): drop it from telemetry's state.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0005_assignment_in_scheduling"),
        ("scheduling", "0002_assignment_from_telemetry"),
        ("telemetry", "0002_assignment_sample"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="assignmentsample",
                    name="assignment",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="+", to="scheduling.assignment"),
                ),
                migrations.DeleteModel(name="Assignment"),
            ],
            database_operations=[],
        ),
    ]
