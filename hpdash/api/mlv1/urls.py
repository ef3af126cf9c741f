"""ml v1's paths under ``/v1/``.  A custom method (``:cancel``) is a path of its own."""

from django.urls import re_path

from hpdash.api.common.request import methods
from hpdash.api.mlv1 import views

_JOB = r"^v1/projects/(?P<project>[^/]+)/jobs/(?P<job_id>[^/:]+)"

urlpatterns = [
    re_path(r"^v1/projects/(?P<project>[^/:]+):hpdashImages$", methods(GET=views.images_list),
            name="api-images"),
    re_path(r"^v1/projects/(?P<project>[^/]+)/jobs/?$",
            methods(GET=views.jobs_list, POST=views.jobs_create), name="api-jobs"),
    re_path(_JOB + "$", methods(GET=views.jobs_get, PATCH=views.jobs_patch), name="api-job"),
    re_path(_JOB + ":cancel$", methods(POST=views.jobs_cancel), name="api-job-cancel"),
    re_path(_JOB + ":hpdashDetails$", methods(GET=views.jobs_details), name="api-job-details"),
    re_path(_JOB + ":hpdashTrialLog$", methods(GET=views.jobs_trial_log),
            name="api-job-trial-log"),
    re_path(_JOB + ":[^/]*$", views.not_found),
    re_path(r"^v1/(?P<rest>[\s\S]*)$", views.not_found),  # newlines too: always the envelope
]
