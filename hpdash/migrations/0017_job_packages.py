# Each job's packages by content hash, so worker machines fetch them over the network (issue 20).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('hpdash', '0016_gpuhost_containers'),
    ]

    operations = [
        migrations.CreateModel(
            name='JobPackage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveIntegerField()),
                ('uri', models.CharField(max_length=2048)),
                ('sha256', models.CharField(max_length=64)),
                ('name', models.CharField(max_length=255)),
                ('size', models.BigIntegerField()),
                ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='packages', to='hpdash.job')),
            ],
            options={
                'ordering': ['job', 'position'],
                'constraints': [models.UniqueConstraint(fields=('job', 'position'), name='one_package_per_position')],
            },
        ),
    ]
