"""The admin: jobs (state, progress, filters, the cancel action), projects and API tokens.

A job's change page stays small at any size: it shows its trial counts by state and the
latest ``RECENT_TRIALS`` trials, with a link to the job page for the rest (an
inline of every trial made a 10,000-trial job's page 22 MB and 17 s on the server)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from hpdash.dashboard.numbers import display_number
from hpdash.models import ApiToken, GpuHost, Job, Project, WorkerKey
from hpdash.selectors.containers import report_images
from hpdash.selectors.trial_counts import jobs_with_trial_counts, trial_counts
from hpdash.selectors.trials import trials_and_measurements_count, trials_recent
from hpdash.services.jobs import FailedPrecondition, job_cancel

RECENT_TRIALS = 20


@admin.action(description="Cancel selected jobs (stops their running trials)",
              permissions=["cancel"])
def cancel_jobs(modeladmin: admin.ModelAdmin[Job], request: HttpRequest, queryset: QuerySet[Job]
                ) -> None:
    done = 0
    for job in queryset:
        try:
            job_cancel(job=job, by=request.user.get_username())
            done += 1
        except FailedPrecondition as exc:
            modeladmin.message_user(request, str(exc), messages.WARNING)
    if done:
        modeladmin.message_user(request, f"Cancelling {done} job(s).", messages.SUCCESS)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin[Job]):
    list_display = ("job_id", "project", "state", "progress", "goal", "metric_tag", "owner",
                    "create_time")
    list_filter = ("state", "project", "algorithm")
    search_fields = ("job_id", "project__name")
    actions = [cancel_jobs]
    readonly_fields = ("project", "job_id", "owner", "family", "request", "definition_json",
                       "goal", "metric_tag",
                       "algorithm", "max_trials", "max_parallel_trials", "max_failed_trials",
                       "state", "error_message", "seed", "etag", "previous_job", "create_time",
                       "start_time", "end_time", "update_time", "job_page", "trials_summary",
                       "recent_trials")
    fieldsets = [
        (None, {"fields": ("project", "job_id", "job_page", "owner", "state", "error_message",
                           "previous_job")}),
        ("Trials", {"fields": ("trials_summary", "recent_trials")}),
        ("Spec", {"fields": ("goal", "metric_tag", "algorithm", "max_trials",
                             "max_parallel_trials", "max_failed_trials", "family", "request",
                             "definition_json", "seed")}),
        ("Times", {"fields": ("create_time", "start_time", "end_time", "update_time", "etag")}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        # Django's hook; the changelist counts each listed job's trials in its one query.
        return jobs_with_trial_counts(super().get_queryset(request))

    @admin.display(description="progress")
    def progress(self, job: Job) -> str:
        return f"{trial_counts(job).finished}/{job.max_trials}"

    @admin.display(description="job page")
    def job_page(self, job: Job) -> SafeString:
        url = reverse("job-detail", args=(job.project_id, job.job_id))
        return format_html('<a href="{}" id="job-page-link">{} — every trial, charts, '
                           "filters and exports</a>", url, url)

    @admin.display(description="trials by state")
    def trials_summary(self, job: Job) -> str:
        counts = sorted(trial_counts(job).by_state.items())
        return ", ".join(f"{state} {n}" for state, n in counts if n) or "none yet"

    @admin.display(description=f"latest {RECENT_TRIALS} trials")
    def recent_trials(self, job: Job) -> SafeString:
        rows = trials_recent(job=job, limit=RECENT_TRIALS)
        base = reverse("trial-detail", args=(job.project_id, job.job_id, 0))[:-2]
        body = format_html_join("", '<tr><td><a href="{}{}/">{}</a></td><td>{}</td>'
                                '<td title="{}">{}</td><td>{}</td><td>{}</td></tr>', (
            (base, tid, tid, state, "" if v is None else repr(v), display_number(v), step or "",
             reason[:120]) for tid, state, v, step, reason in rows))
        return format_html('<table id="recent-trials"><thead><tr><th>trial</th><th>state</th>'
                           "<th>{}</th><th>step</th><th>failure</th></tr></thead>"
                           "<tbody>{}</tbody></table>", job.metric_tag, body)

    def get_deleted_objects(self, objs: Sequence[Job] | QuerySet[Job], request: HttpRequest
                            ) -> tuple[list[Any], dict[str, int], set[Any], list[Any]]:
        # Counted, not listed: Django lists every related object, 210,000 lines for a
        # 10,000-trial job with 20 measurements each (trials and measurements have no admin
        # page, so deleting them needs no further permission).
        jobs = list(objs)
        trials, measurements = trials_and_measurements_count(jobs=jobs)
        return ([*(str(j) for j in jobs), f"their {trials} trials and {measurements} "
                 "measurements"], {"jobs": len(jobs), "trials": trials,
                                   "measurements": measurements}, set(), [])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are created through the one spec parser (API, dashboard, CLI)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("hpdash.cancel_job")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin[Project]):
    list_display = ("name", "created")
    search_fields = ("name",)
    filter_horizontal = ("members",)


@admin.register(GpuHost)
class GpuHostAdmin(admin.ModelAdmin[GpuHost]):
    """Worker machines and their GPUs, as their workers reported them at start.  Delete a
    retired machine so its GPUs no longer count as the deployment's."""

    list_display = ("name", "devices", "images", "seen_at")
    readonly_fields = ("name", "devices", "images", "seen_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # workers register their machines

    @admin.display(description="container images")
    def images(self, host: GpuHost) -> str:
        """The images trials can run in there, or why it runs no containers."""
        report = host.containers or {}
        if not report:
            return "not reported"
        return str(report.get("problem") or ", ".join(
            entry["name"] for entry in report_images(report)) or "none")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("prefix", "user", "name", "created", "last_used", "revoked")
    list_filter = ("revoked",)
    readonly_fields = ("prefix", "token_hash", "created", "last_used")


@admin.register(WorkerKey)
class WorkerKeyAdmin(admin.ModelAdmin[WorkerKey]):
    """Worker machines' keys: made by ``manage.py create_worker_key`` (shown once); revoke one
    here when its machine is retired."""

    list_display = ("prefix", "name", "created", "last_used", "revoked")
    list_filter = ("revoked",)
    readonly_fields = ("prefix", "key_hash", "created", "last_used")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
