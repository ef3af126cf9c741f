"""``hpdash``: a command line mirroring ``gcloud ai-platform jobs``, talking only to hpdash's
ml v1 REST API.

Plain Python (standard library and PyYAML): it never imports Django, so it runs on any machine
where the ``hpdash`` package is installed, against a server on this or another machine.
"""
