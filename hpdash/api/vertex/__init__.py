"""Vertex AI v1 ``hyperparameterTuningJobs`` and ``customJobs`` (create, get, list, cancel,
delete) under ``/v1/projects/P/locations/L/``: what the unchanged ``google-cloud-aiplatform``
SDK calls with ``api_transport="rest"``.  The resources stay exactly Vertex's."""
