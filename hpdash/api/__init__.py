"""The REST front doors: one package per API family (``mlv1/``: AI Platform Training's
``projects.jobs``), and ``common/`` for what families share (Google's error envelope, the
typed API request with token auth and one exception mapping, pagination, list filters).

A family parses its requests into the typed job (:mod:`hpdash.core.spec`), calls the services
and selectors, and renders its own resources; it never reaches into another family."""
