# When a heartbeat reply first handed the assignment to its agent: the earliest second that may be billed.
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("scheduling", "0002_assignment_from_telemetry"),
        ("telemetry", "0003_assignment_to_scheduling"),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="delivered_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
