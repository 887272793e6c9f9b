from django.db import migrations


def load_regions(apps, schema_editor):
    from apps.catalog.data.regions import REGIONS

    Region = apps.get_model("catalog", "Region")
    for code, name, name_zh, province in REGIONS:
        Region.objects.update_or_create(code=code, defaults={"name": name, "name_zh": name_zh, "province": province})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(load_regions, migrations.RunPython.noop)]
