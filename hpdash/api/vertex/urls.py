"""Vertex AI's paths under ``/v1/projects/P/locations/L/`` (matched before ml v1's, whose
catch-all would answer them)."""

from django.urls import re_path

from hpdash.api.common.request import methods
from hpdash.api.vertex import views

_COLLECTION = (r"^v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/"
               r"(?P<collection>hyperparameterTuningJobs|customJobs)")
_JOB = _COLLECTION + r"/(?P<job_id>[^/:]+)"

urlpatterns = [
    re_path(_COLLECTION + "/?$", methods(GET=views.jobs_list, POST=views.jobs_create),
            name="vertex-jobs"),
    re_path(_JOB + "$", methods(GET=views.jobs_get, DELETE=views.jobs_delete),
            name="vertex-job"),
    re_path(_JOB + ":cancel$", methods(POST=views.jobs_cancel), name="vertex-job-cancel"),
    re_path(_JOB + ":listOptimalTrials$", methods(GET=views.jobs_optimal_trials,
                                                  POST=views.jobs_optimal_trials),
            name="vertex-job-optimal-trials"),
]
