"""hpdash: self-hosted hyperparameter tuning compatible with AI Platform's ml v1 jobs API."""

__version__ = "0.1.0"
