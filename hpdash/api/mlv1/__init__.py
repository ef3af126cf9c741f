"""AI Platform Training's ml v1 ``projects.jobs`` (create, get, list, cancel, patch), plus one
hpdash extension method, ``GET …/jobs/JOB:hpdashDetails``; the ``Job`` resource itself stays
exactly Google's."""
