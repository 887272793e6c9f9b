from django.db import migrations, models


class Migration(migrations.Migration):
    """Room for "<organization id>:" plus a client's Idempotency-Key of up to 255 characters."""

    dependencies = [
        ('ledger', '0004_payouts'),
    ]

    operations = [
        migrations.AlterField(
            model_name='payment',
            name='idempotency_key',
            field=models.CharField(max_length=300, unique=True),
        ),
    ]
