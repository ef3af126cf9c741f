from django.urls import path

from hpdash.api.workers import packages, views

urlpatterns = [
    path("workers/v1/trials/<int:trial_pk>/log", views.trial_log, name="workers-trial-log"),
    path("workers/v1/packages/<str:sha256>", packages.package_blob,
         name="workers-package"),
]
