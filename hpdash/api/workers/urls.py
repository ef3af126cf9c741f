from django.urls import path

from hpdash.api.workers import views

urlpatterns = [
    path("workers/v1/trials/<int:trial_pk>/log", views.trial_log, name="workers-trial-log"),
]
