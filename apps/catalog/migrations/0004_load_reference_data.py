from django.db import migrations


def load(apps, schema_editor):
    from apps.catalog.reference import reference_data_sync

    reference_data_sync(region_model=apps.get_model("catalog", "Region"),
                        latency_model=apps.get_model("catalog", "RegionLatency"),
                        accelerator_model=apps.get_model("catalog", "AcceleratorModel"))


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_fleet_and_accelerators")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
