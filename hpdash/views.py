"""Server-rendered pages (the full dashboard grows here)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hpdash.models import Job


@login_required
def home(request: HttpRequest) -> HttpResponse:
    jobs = Job.objects.select_related("owner")[:200]
    return render(request, "hpdash/home.html", {"jobs": jobs})
