from django.conf import settings
from django.db import migrations, models


# The bands as they were when this migration was written (rules.PRIORITY_BANDS may move on).
BANDS = {"reserved": (1000, False), "on_demand": (0, False), "spot": (-1000, True)}


def bands_apply(apps, schema_editor):
    """Existing rows into their mode's band: a customer priority kept as the order inside it (spot rows
    booked through the portal had -10: the band's bottom)."""
    Workload = apps.get_model("booking", "Workload")
    for mode, (base, preemptible) in BANDS.items():
        rows = Workload.objects.filter(billing_mode=mode)
        rows.filter(priority__lt=0).update(priority=0)
        rows.filter(priority__gt=100).update(priority=100)
        rows.update(priority=models.F("priority") + base, preemptible=preemptible)


class Migration(migrations.Migration):

    dependencies = [
        ('booking', '0005_pending_reason_data'),
        ('catalog', '0006_cluster_gpu_sharing'),
        ('tenancy', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(bands_apply, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='workload',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('billing_mode', 'reserved'), ('preemptible', False), ('priority__gte', 1000), ('priority__lte', 1100)), models.Q(('billing_mode', 'on_demand'), ('preemptible', False), ('priority__gte', 0), ('priority__lte', 100)), models.Q(('billing_mode', 'spot'), ('preemptible', True), ('priority__gte', -1000), ('priority__lte', -900)), _connector='OR'), name='workload_priority_in_band'),
        ),
    ]
