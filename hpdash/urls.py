from django.contrib import admin
from django.urls import include, path

from hpdash.dashboard.views import jobs, new_job, study_page

JOB = "projects/<str:project>/jobs/<str:job_id>/"

urlpatterns = [
    path("", include("hpdash.api.vertex.urls")),  # before ml v1's catch-all under v1/
    path("", include("hpdash.api.mlv1.urls")),
    path("", include("hpdash.api.workers.urls")),
    path("admin/", admin.site.urls),
    path("django-rq/", include("django_rq.urls")),  # its views require staff
    path("accounts/", include("django.contrib.auth.urls")),
    path("", jobs.job_list, name="job-list"),
    path("jobs/new/", new_job.job_new, name="job-new"),
    path(JOB, jobs.job_detail, name="job-detail"),
    path(JOB + "cancel", jobs.job_cancel, name="job-cancel"),
    path(JOB + "note", jobs.job_note, name="job-note"),
    path(JOB + "trials/<int:trial_id>/note", jobs.trial_note, name="trial-note"),
    path(JOB + "compare", jobs.job_compare, name="job-compare"),
    path(JOB + "study", study_page.job_study, name="job-study"),
    path(JOB + "trials.<str:fmt>", jobs.job_export, name="job-export"),
    path(JOB + "trials/<int:trial_id>/", jobs.trial_detail, name="trial-detail"),
    path(JOB + "trials/<int:trial_id>/log", jobs.trial_log, name="trial-log"),
]
