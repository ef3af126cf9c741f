"""Who may see and act on which jobs.  Projects are namespaces with members:

- staff users (and superusers) see every project;
- other users see the projects they are members of (Admin → Projects);
- creating a job in a project that does not exist yet creates the project with its creator as
  the only member (the first user to use a name owns it); in an existing project only members
  (and staff) may create jobs;
- creating a job runs code on the workers, so it also needs the ``hpdash.add_job`` permission;
  cancelling needs ``hpdash.cancel_job``; changing labels needs ``hpdash.change_job``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from hpdash.models import Job, Project


def sees_everything(user: Any) -> bool:
    return bool(user.is_active and (user.is_staff or user.is_superuser))


def visible_jobs(user: Any) -> QuerySet[Job]:
    if sees_everything(user):
        return Job.objects.all()
    return Job.objects.filter(project__in=Project.objects.filter(members=user).values("name"))


def can_view(user: Any, project: str) -> bool:
    """Staff, members, and anyone for a project that does not exist (it has nothing to show)."""
    if sees_everything(user):
        return True
    found = Project.objects.filter(name=project).first()
    return found is None or found.members.filter(pk=user.pk).exists()
