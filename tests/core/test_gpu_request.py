"""What a trial asks for, and how a machine's GPUs are shared out."""

from __future__ import annotations

import pytest

from hpdash.core.gpus import parse_device_list, pick, visible_devices
from hpdash.core.spec.training_input import gpu_request


@pytest.mark.parametrize(("training_input", "count", "field"), [
    ({"masterConfig": {"acceleratorConfig": {"count": "2", "type": "NVIDIA_TESLA_T4"}}}, 2,
     "trainingInput.masterConfig.acceleratorConfig.count"),
    ({"scaleTier": "BASIC_GPU"}, 1, "trainingInput.scaleTier"),
    ({"scaleTier": "CUSTOM", "masterType": "standard_gpu"}, 0, ""),  # machine names: none
    ({"scaleTier": "BASIC"}, 0, ""),
    ({}, 0, ""),
    # acceleratorConfig wins over the tier, whatever it says (count 0 is none).
    ({"scaleTier": "BASIC_GPU", "masterConfig": {"acceleratorConfig": {"count": "0"}}}, 0,
     "trainingInput.masterConfig.acceleratorConfig.count"),
])
def test_a_trial_asks_for_gpus_through_accelerator_config_or_basic_gpu(
        training_input, count, field):
    request = gpu_request(training_input)
    assert (request.count, request.field) == (count, field)


def test_the_request_says_the_type_it_was_given():
    request = gpu_request({"masterConfig": {"acceleratorConfig": {"count": "4",
                                                                  "type": "NVIDIA_TESLA_V100"}}})
    assert request.describe() == "4 NVIDIA_TESLA_V100 GPUs"
    assert gpu_request({"scaleTier": "BASIC_GPU"}).describe() == "1 GPU"


def test_devices_are_listed_by_index_or_uuid_and_an_empty_list_is_none():
    assert parse_device_list("0, 1,2,3") == ["0", "1", "2", "3"]
    assert parse_device_list("GPU-8f6c2a1e-0000,MIG-1") == ["GPU-8f6c2a1e-0000", "MIG-1"]
    assert parse_device_list("") == []
    with pytest.raises(ValueError, match="listed twice"):
        parse_device_list("0,1,0")
    with pytest.raises(ValueError, match="not a GPU id"):
        parse_device_list("0;rm -rf")


def test_picking_never_hands_out_a_held_device_and_waits_rather_than_share():
    devices = ["0", "1", "2", "3"]
    assert pick(devices, [], 2) == ["0", "1"]
    assert pick(devices, [["0", "1"]], 2) == ["2", "3"]
    assert pick(devices, [["0", "1"], ["2", "3"]], 2) is None
    assert pick(devices, [["1"], ["3"]], 2) == ["0", "2"]
    assert pick(devices, [["1"], ["3"]], 3) is None
    assert pick(devices, [], 5) is None


def test_a_trial_without_gpus_sees_none_rather_than_all():
    assert visible_devices([]) == ""
    assert visible_devices(["2", "3"]) == "2,3"
