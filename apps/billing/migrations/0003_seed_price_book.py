"""The first published price book (apps/billing/seed.py), so a clean database can quote and bill."""

from django.db import migrations


def seed(apps, schema_editor):
    from apps.billing.seed import price_book_seed

    price_book_seed(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_frozen_price_books"), ("catalog", "0004_load_reference_data")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
