"""The container settings of a machine: which registries hpdash pulls images from (none unless
the site names them), which of those without TLS verification, and how long a pull may take;
each malformed value refused by name."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from hpdash.core.runner.podman import ContainerSettings, registry_of
from hpdash.ops.containers import container_settings_from_env


@pytest.fixture
def env(monkeypatch):
    for name in ("HPDASH_CONTAINER_PULL_FROM", "HPDASH_CONTAINER_INSECURE_REGISTRIES",
                 "HPDASH_CONTAINER_PULL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HPDASH_CONTAINERS", "auto")
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    return monkeypatch


def test_by_default_nothing_is_pulled(env):
    found = container_settings_from_env()
    assert found is not None
    assert found.pull_from == () and found.pull_timeout == 600.0
    assert not found.may_pull("gcr.io/p/t:v1") and not found.may_pull("trainer")


def test_the_registries_a_site_names_are_pulled_from_and_no_other(env):
    env.setenv("HPDASH_CONTAINER_PULL_FROM", "GCR.io, 127.0.0.1:5000")
    env.setenv("HPDASH_CONTAINER_INSECURE_REGISTRIES", "127.0.0.1:5000")
    env.setenv("HPDASH_CONTAINER_PULL_TIMEOUT", "30")
    found = container_settings_from_env()
    assert found == ContainerSettings(podman="/usr/bin/podman", pull_from=(
        "gcr.io", "127.0.0.1:5000"), insecure=("127.0.0.1:5000",), pull_timeout=30.0)
    assert found.may_pull("gcr.io/p/t:v1") and found.may_pull("127.0.0.1:5000/t")
    assert not found.may_pull("gcr.io.evil.example/p/t") and not found.may_pull("trainer")
    assert not found.may_pull("evil.example/gcr.io/t")


@pytest.mark.parametrize(("name", "value", "says"), [
    ("HPDASH_CONTAINER_PULL_FROM", "gcr.io,*", "'*' is not one"),
    ("HPDASH_CONTAINER_PULL_FROM", "https://gcr.io", "'https://gcr.io' is not one"),
    ("HPDASH_CONTAINER_PULL_FROM", "trainer", "'trainer' is not one"),
    ("HPDASH_CONTAINER_INSECURE_REGISTRIES", "127.0.0.1:5000",
     "names 127.0.0.1:5000, which HPDASH_CONTAINER_PULL_FROM does not"),
    ("HPDASH_CONTAINER_PULL_TIMEOUT", "0", "HPDASH_CONTAINER_PULL_TIMEOUT must be a number"),
])
def test_a_malformed_value_is_refused_by_name(env, name, value, says):
    env.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        container_settings_from_env()
    try:
        container_settings_from_env()
    except ImproperlyConfigured as exc:
        assert says in str(exc)


def test_an_images_registry_is_read_as_podman_reads_it():
    assert registry_of("gcr.io/p/t:v1") == "gcr.io"
    assert registry_of("127.0.0.1:5000/t") == "127.0.0.1:5000"
    assert registry_of("localhost/trainer") == "localhost"
    assert registry_of("trainer") == registry_of("library/trainer:1") == "docker.io"
