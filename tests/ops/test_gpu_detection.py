"""Which GPUs this machine has."""

from __future__ import annotations

import shutil

import pytest
from django.core.exceptions import ImproperlyConfigured

from hpdash.ops import gpus


def test_nvidia_smi_output_gives_the_device_indices():
    out = ("GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-8f6c2a1e-aaaa)\n"
           "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-8f6c2a1e-bbbb)\n"
           "  MIG 1g.5gb Device 0: (UUID: MIG-xxxx)\n")
    assert gpus.parse_nvidia_smi(out) == ["0", "1"]


def test_no_nvidia_smi_means_no_gpus(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # the module gpus looks through
    assert gpus.detect_gpus() == []


def test_hpdash_gpus_overrides_detection_and_a_bad_value_names_the_variable():
    assert gpus.gpus_from_env(None) is None  # unset: ask nvidia-smi
    assert gpus.gpus_from_env("") == []  # set empty: none, whatever nvidia-smi says
    assert gpus.gpus_from_env("0,1") == ["0", "1"]
    with pytest.raises(ImproperlyConfigured, match="HPDASH_GPUS"):
        gpus.gpus_from_env("0,zero one")
