from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from hpdash.core.states import FINAL_TRIAL_STATES
from hpdash.models import ApiToken, Job, Project, Trial
from hpdash.services.jobs import FailedPrecondition, job_cancel


class TrialInline(admin.TabularInline[Trial, Job]):
    model = Trial
    extra = 0
    can_delete = False
    fields = ("trial_id", "state", "params", "final_value", "final_step", "is_stopped_early",
              "failure_reason", "start_time", "end_time")
    readonly_fields = fields
    show_change_link = True


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
    search_fields = ("job_id", "project")
    actions = [cancel_jobs]
    readonly_fields = ("project", "job_id", "owner", "training_input", "goal", "metric_tag",
                       "algorithm", "max_trials", "max_parallel_trials", "max_failed_trials",
                       "state", "error_message", "seed", "etag", "previous_job", "create_time",
                       "start_time", "end_time", "update_time")
    inlines = [TrialInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        qs: QuerySet[Job] = super().get_queryset(request).annotate(
            finished=Count("trials", filter=Q(trials__state__in=FINAL_TRIAL_STATES)))
        return qs

    @admin.display(description="progress")
    def progress(self, job: Job) -> str:
        return f"{getattr(job, 'finished', 0)}/{job.max_trials}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are created through the one spec parser (API, dashboard, CLI)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("hpdash.cancel_job")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin[Project]):
    list_display = ("name", "created")
    search_fields = ("name",)
    filter_horizontal = ("members",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("prefix", "user", "name", "created", "last_used", "revoked")
    list_filter = ("revoked",)
    readonly_fields = ("prefix", "token_hash", "created", "last_used")
