"""Server-rendered pages, split by audience: ``jobs`` (list, job, trial, compare, export,
cancel) and ``new_job`` (the form that builds a HyperparameterSpec)."""
