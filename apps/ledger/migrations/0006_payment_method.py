from django.db import migrations, models


class Migration(migrations.Migration):
    """Top-ups by Alipay and WeChat Pay besides cards."""

    dependencies = [
        ('ledger', '0005_payment_idempotency_key_length'),
    ]

    operations = [
        migrations.AddField(
            model_name='payment',
            name='method',
            field=models.CharField(choices=[('card', 'Card'), ('alipay', 'Alipay'), ('wechat_pay', 'WeChat Pay')],
                                   default='card', max_length=20, verbose_name='payment method'),
        ),
    ]
