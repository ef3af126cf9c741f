"""Every job belongs to a Project row (a foreign key, PROTECT).  Jobs whose project name had no
row (made by seed_demo_job, or left when an admin deleted the project) get one with no
members: staff see it, and nobody can claim it by being the first to create a job there."""

from django.db import migrations, models
import django.db.models.deletion


def create_missing_projects(apps, schema_editor):
    Job = apps.get_model("hpdash", "Job")
    Project = apps.get_model("hpdash", "Project")
    names = set(Job.objects.values_list("project", flat=True).distinct())
    existing = set(Project.objects.filter(name__in=names).values_list("name", flat=True))
    Project.objects.bulk_create([Project(name=n) for n in sorted(names - existing)])


class Migration(migrations.Migration):

    dependencies = [
        ("hpdash", "0003_trial_stop_reason"),
    ]

    operations = [
        migrations.RunPython(create_missing_projects, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="job",
            name="project",
            field=models.ForeignKey(db_column="project",
                                    on_delete=django.db.models.deletion.PROTECT,
                                    related_name="jobs", to="hpdash.project", to_field="name"),
        ),
    ]
