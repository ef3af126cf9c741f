from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('hpdash', '0010_job_dirs'),
    ]

    operations = [
        migrations.AddField(
            model_name='gpuhost',
            name='containers',
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
