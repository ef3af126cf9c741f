"""A requirements-only package: no module of its own, it brings ``tensorboard`` into the job's
environment for e2etrainer.keras_replay (a plain package directory declares nothing)."""

from setuptools import setup

setup(name="e2e-tbdeps", version="0.1.0", packages=[], install_requires=["tensorboard"])
