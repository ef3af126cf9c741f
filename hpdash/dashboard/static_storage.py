"""Static files with content hashes in their names (``app.3f2a….js``), so whitenoise serves
them with ``Cache-Control: max-age=315360000, public, immutable`` and a new release changes
their URLs; ``collectstatic`` also writes gzip copies that whitenoise serves to browsers that
accept them (``plotly-strict.min.js``: 5.2 MB, 1.6 MB gzipped).

``collectstatic`` builds the manifest; ``manage.py serve`` runs it before the web server
starts.  Without a manifest (a unit test, a development checkout that never ran it) a file
keeps its plain name and whitenoise serves it from the source tree (``WHITENOISE_USE_FINDERS``)
with a short cache: pages work either way, only caching differs."""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.apps import StaticFilesConfig as BaseStaticFilesConfig
from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return str(super().stored_name(name))
        except ValueError:  # not collected yet: the plain name, served by the finders
            return name

    def url(self, name: Any, force: bool = False) -> str:
        return str(super().url(name, force))


class StaticFilesConfig(BaseStaticFilesConfig):
    """django.contrib.staticfiles, minus the parts of plotly's package data hpdash never
    serves (sample datasets, Python-side templates, the Jupyter widget bundle): collectstatic
    then copies and compresses what pages load and nothing else."""

    ignore_patterns = [  # noqa: RUF012 - Django's own attribute is a plain list
        *BaseStaticFilesConfig.ignore_patterns, "datasets", "templates", "widgetbundle.js"]
