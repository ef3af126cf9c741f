from django.db import migrations, models


class Migration(migrations.Migration):
    """Several metrics per trial (a multi-objective Vertex study): each measurement names its
    metric by position in the job's spec; every existing row is the first (and only) one."""

    dependencies = [
        ('hpdash', '0017_job_packages'),
    ]

    operations = [
        migrations.AddField(
            model_name='measurement',
            name='metric',
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
