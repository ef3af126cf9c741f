"""Jobs keep the typed job (``definition_json``) beside the request as it was sent.

Until now a job stored only ml v1's ``trainingInput`` and every reader parsed it again.  The
rows are converted with the ml v1 parser of this release: a stored ``trainingInput`` was
validated by it when the job was created (a resumed job's already holds the merged params)."""

from typing import Any

from django.db import migrations, models


def forwards(apps: Any, schema_editor: Any) -> None:
    from hpdash.core.spec import parse_job
    from hpdash.core.spec.stored import definition_to_json

    Job = apps.get_model("hpdash", "Job")
    for job in Job.objects.all().iterator():
        training_input = job.request
        new = parse_job({"jobId": "migrated", "trainingInput": training_input})
        job.definition_json = definition_to_json(new.definition)
        job.request = {"trainingInput": training_input}
        job.save(update_fields=["definition_json", "request"])


def backwards(apps: Any, schema_editor: Any) -> None:
    Job = apps.get_model("hpdash", "Job")
    for job in Job.objects.all().iterator():
        job.request = job.request["trainingInput"]
        job.save(update_fields=["request"])


class Migration(migrations.Migration):

    dependencies = [
        ("hpdash", "0006_measurement_source_names_a_run"),
    ]

    operations = [
        migrations.RenameField(model_name="job", old_name="training_input", new_name="request"),
        migrations.AddField(model_name="job", name="definition_json",
                            field=models.JSONField(null=True)),
        migrations.AddField(model_name="job", name="family",
                            field=models.CharField(default="mlv1", max_length=16)),
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(model_name="job", name="definition_json",
                              field=models.JSONField()),
    ]
