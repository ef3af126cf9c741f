from django.db import migrations, models


class Migration(migrations.Migration):
    """Several metrics per trial (a multi-objective Vertex study): each measurement names its
    metric by position in the job's spec; every existing row is the first (and only) one."""

    dependencies = [
        ('hpdash', '0010_job_dirs'),
    ]

    operations = [
        migrations.AddField(
            model_name='measurement',
            name='metric',
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
