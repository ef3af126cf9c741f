"""A trial's limits come from the machine type its job names, else from the server's defaults."""

from __future__ import annotations

import pytest

from hpdash.core.runner.limits import (
    GIB,
    MIB,
    TrialLimits,
    format_bytes,
    limits_for,
    machine,
    parse_size,
)

DEFAULTS = TrialLimits(memory_bytes=2 * GIB, cpus=1.0, processes=100)


@pytest.mark.parametrize(("name", "vcpus", "gib"), [
    ("n1-standard-8", 8, 30),
    ("n1-standard-4", 4, 15),
    ("n1-highmem-2", 2, 13),
    ("n1-highcpu-8", 8, 7.2),
    ("e2-standard-16", 16, 64),
    ("n2-highcpu-4", 4, 4),
    ("a2-highgpu-1g", 12, 85),
    ("complex_model_s", 8, 7.2),
    ("complex_model_m", 16, 14.4),
    ("large_model", 8, 52),
    ("standard_gpu", 8, 30),
    ("N1-Standard-8", 8, 30),
])
def test_it_knows_ai_platform_and_compute_engine_machine_types(name, vcpus, gib):
    found = machine(name)
    assert found is not None
    assert found.vcpus == vcpus
    assert found.memory_bytes == int(gib * GIB)


@pytest.mark.parametrize("name", ["n1-standard-0", "n9-standard-4", "huge", "n1-tiny-4", ""])
def test_it_knows_no_made_up_machine_type(name):
    assert machine(name) is None


def test_master_type_sets_memory_and_cpus_and_the_server_sets_processes():
    limits = limits_for({"scale_tier": "CUSTOM", "master_type": "n1-standard-8"}, DEFAULTS)
    assert limits == TrialLimits(memory_bytes=30 * GIB, cpus=8.0, processes=100,
                                 source="machine type n1-standard-8")


@pytest.mark.parametrize(("tier", "vcpus", "gib"), [
    ("BASIC", 4, 15), ("STANDARD_1", 8, 7.2), ("PREMIUM_1", 16, 14.4), ("BASIC_GPU", 8, 30),
    ("BASIC_TPU", 4, 15)])
def test_a_scale_tier_maps_to_its_masters_machine(tier, vcpus, gib):
    limits = limits_for({"scale_tier": tier}, DEFAULTS)
    assert (limits.cpus, limits.memory_bytes) == (vcpus, int(gib * GIB))
    assert limits.source.startswith(f"scale tier {tier}")


def test_a_job_naming_no_machine_gets_the_server_defaults():
    assert limits_for({}, DEFAULTS) == DEFAULTS


def test_an_unknown_machine_type_gets_the_server_defaults_and_says_why():
    limits = limits_for({"scale_tier": "CUSTOM", "master_type": "quantum-1"}, DEFAULTS)
    assert (limits.memory_bytes, limits.cpus, limits.processes) == (2 * GIB, 1.0, 100)
    assert "'quantum-1' is not a machine type hpdash knows" in limits.source


def test_limits_describe_themselves_for_the_trial_log():
    assert TrialLimits(256 * MIB, 2.0, 64).describe() == (
        "memory 256 MiB, 2 CPUs, 64 processes (server defaults)")
    assert TrialLimits().describe() == "none (server defaults)"


@pytest.mark.parametrize(("text", "size"), [
    ("512M", 512 * MIB), ("2G", 2 * GIB), ("1.5GiB", int(1.5 * GIB)), ("1000", 1000),
    ("64mb", 64 * MIB)])
def test_sizes_read_as_people_write_them(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "2X"])
def test_a_malformed_size_is_refused(text):
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(text)


@pytest.mark.parametrize(("size", "text"), [
    (256 * MIB, "256 MiB"), (int(7.2 * GIB), "7.2 GiB"), (15 * GIB, "15 GiB"),
    (1360 * GIB, "1360 GiB")])
def test_a_limit_reads_as_the_machine_tables_write_it(size, text):
    assert format_bytes(size) == text
