"""``gs://`` locations of a Vertex request read from a local mirror of Cloud Storage
(``HPDASH_GCS_ROOT``): ``gs://BUCKET/PATH`` is ``<root>/BUCKET/PATH`` for the trainer, and the
request is echoed as sent.  Part of the Vertex parser; no Django here."""

from __future__ import annotations

import copy
import re
from typing import Any

_BUCKET = re.compile(r"gs://([a-z0-9][a-z0-9._-]{1,221})(/.*)?")


def _gcs_locations(data: Any, spec_key: str) -> list[tuple[Any, Any]]:
    """(container, key) of each location the request may give as gs://: the package URIs
    and the base output directory, where they are."""
    spec = data.get(spec_key) if isinstance(data, dict) else None
    if not isinstance(spec, dict):
        return []
    out: list[tuple[Any, Any]] = []
    base = spec.get("baseOutputDirectory")
    if isinstance(base, dict) and "outputUriPrefix" in base:
        out.append((base, "outputUriPrefix"))
    pools = spec.get("workerPoolSpecs")
    pool = pools[0] if isinstance(pools, list) and pools else None
    package = pool.get("pythonPackageSpec") if isinstance(pool, dict) else None
    uris = package.get("packageUris") if isinstance(package, dict) else None
    if isinstance(uris, list):
        out += [(uris, i) for i in range(len(uris))]
    return out


def on_local_disk(data: Any, spec_key: str, gcs_root: str
                   ) -> tuple[Any, list[tuple[tuple[Any, Any], str]]]:
    """The request with each ``gs://BUCKET/PATH`` location read as ``<gcs_root>/BUCKET/PATH``
    (Cloud Storage mirrored on this machine), and what was replaced, to echo as sent."""
    if not gcs_root:
        return data, []
    data = copy.deepcopy(data)
    replaced = []
    for container, key in _gcs_locations(data, spec_key):
        value = container[key]
        match = _BUCKET.fullmatch(value) if isinstance(value, str) else None
        if match:
            container[key] = f"{gcs_root.rstrip('/')}/{match.group(1)}{match.group(2) or ''}"
            replaced.append(((container, key), value))
    return data, replaced


def echo_as_sent(request: dict[str, Any], spec_key: str,
                  replaced: list[tuple[tuple[Any, Any], str]]) -> None:
    """Put the gs:// locations back into the echoed request, where they were sent."""
    sent = {container[key]: uri for (container, key), uri in replaced}
    for container, key in _gcs_locations(request, spec_key):
        container[key] = sent.get(container[key], container[key])
