from django.contrib import admin
from django.urls import include, path, re_path

from hpdash import api, views

urlpatterns = [
    re_path(r"^v1/projects/(?P<project>[^/]+)/jobs/?$", api.jobs, name="api-jobs"),
    re_path(r"^v1/projects/(?P<project>[^/]+)/jobs/(?P<job_id>[^/:]+)(?P<verb>:[A-Za-z]+)?$",
            api.job, name="api-job"),
    re_path(r"^v1/(?P<rest>.*)$", api.not_found),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", views.home, name="home"),
]
