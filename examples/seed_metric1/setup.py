"""The trainer's package, as AI Platform samples ship one: hpdash installs it with its
REQUIRED_PACKAGES into the job's own Python environment (README, "Trainer dependencies").
packageUris names this directory."""

from setuptools import setup

REQUIRED_PACKAGES = ["numpy", "scikit-learn"]

setup(name="seed-metric1-trainer", version="0.1.0", packages=["trainer"],
      install_requires=REQUIRED_PACKAGES)
