"""load_config: gcloud --config files (YAML 1.1, JSON) in, plain data or SpecError out."""

from __future__ import annotations

import random

import pytest

from hpdash.core.spec import SpecError, load_config, parse_job
from hpdash.core.spec.config import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, MAX_CONFIG_NODES


def config_error(text: str | bytes) -> str:
    with pytest.raises(SpecError) as info:
        load_config(text)
    [violation] = info.value.violations
    assert violation.field == "config"
    return violation.description


def test_it_loads_a_yaml_mapping() -> None:
    assert load_config("trainingInput:\n  pythonModule: trainer.task\n") == {
        "trainingInput": {"pythonModule": "trainer.task"}
    }


def test_it_loads_json_because_json_is_yaml() -> None:
    text = '{"jobId": "j1", "trainingInput": {"hyperparameters": {"maxTrials": 4}}}'
    assert load_config(text) == {
        "jobId": "j1", "trainingInput": {"hyperparameters": {"maxTrials": 4}}
    }


def test_it_loads_bytes_and_skips_a_utf8_bom() -> None:
    assert load_config("\ufeffa: ü\n".encode()) == {"a": "ü"}


@pytest.mark.parametrize("word", ["True", "TRUE", "true", "yes"])
def test_it_reads_yaml_1_1_true_spellings_as_true(word: str) -> None:
    assert load_config(f"enableTrialEarlyStopping: {word}\n") == {
        "enableTrialEarlyStopping": True
    }


@pytest.mark.parametrize("word", ["False", "FALSE", "false", "no"])
def test_it_reads_yaml_1_1_false_spellings_as_false(word: str) -> None:
    assert load_config(f"enableTrialEarlyStopping: {word}\n") == {
        "enableTrialEarlyStopping": False
    }


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "---\n...\n", "null\n"])
def test_it_rejects_an_empty_document(text: str) -> None:
    assert "empty" in config_error(text)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_it_rejects_a_top_level_that_is_not_a_mapping(text: str) -> None:
    assert "mapping at the top level" in config_error(text)


def test_it_refuses_a_python_object_tag() -> None:
    message = config_error("trainingInput: !!python/object/apply:os.system ['touch /tmp/x']\n")
    assert "!!python/object/apply:os.system" in message
    assert "not allowed" in message


@pytest.mark.parametrize("text", ["a: !!binary aGk=\n", "a: !custom x\n", "a: !!set {x: null}\n"])
def test_it_refuses_other_non_data_tags(text: str) -> None:
    assert "tag" in config_error(text)


def test_it_accepts_the_plain_data_tags() -> None:
    assert load_config("a: !!str 1\nb: !!int '2'\n") == {"a": "1", "b": 2}


def test_it_refuses_an_alias_bomb() -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    message = config_error("\n".join(lines) + "\n")
    assert "aliases" in message
    assert "line 2" in message


def test_it_refuses_a_merge_key_because_it_needs_an_alias() -> None:
    assert "aliases" in config_error("base: &base {x: 1}\nother:\n  <<: *base\n")


def test_it_refuses_nesting_deeper_than_32_levels() -> None:
    too_deep = "[" * (MAX_CONFIG_DEPTH + 1) + "]" * (MAX_CONFIG_DEPTH + 1)
    assert "nested more than 32 levels" in config_error(f"a: {too_deep}\n")


def test_it_accepts_nesting_of_exactly_32_levels() -> None:
    inner = "[" * (MAX_CONFIG_DEPTH - 1) + "]" * (MAX_CONFIG_DEPTH - 1)
    assert load_config(f"a: {inner}\n")["a"] == eval(inner)


def test_it_refuses_deep_nesting_far_past_the_recursion_limit() -> None:
    assert "nest" in config_error("a: " + "[" * 100_000 + "]" * 100_000)


def test_it_refuses_more_than_100000_nodes() -> None:
    text = "a:\n" + "".join(f"- {i}\n" for i in range(MAX_CONFIG_NODES))
    assert "more than 100000 YAML nodes" in config_error(text)


def test_it_refuses_a_document_over_1_mib() -> None:
    text = "a: '" + "x" * MAX_CONFIG_BYTES + "'\n"
    assert "1 MiB" in config_error(text)
    assert "1 MiB" in config_error(text.encode())


def test_it_counts_the_1_mib_limit_in_utf8_bytes() -> None:
    text = "a: '" + "é" * (MAX_CONFIG_BYTES // 2) + "'\n"  # fewer characters than bytes
    assert len(text) < MAX_CONFIG_BYTES
    assert "1 MiB" in config_error(text)


def test_it_reports_a_syntax_error_with_line_and_column() -> None:
    message = config_error("trainingInput:\n  pythonModule: a\n   maxTrials: 3\n")
    assert "not valid YAML at line 3, column" in message


def test_it_reports_an_unclosed_flow_list_with_its_line() -> None:
    assert "line" in config_error('{"trainingInput": {"args": ["a",\n')


def test_it_refuses_duplicate_keys() -> None:
    message = config_error("params: []\nmaxTrials: 3\nparams: []\n")
    assert 'duplicate key "params" at line 3' in message


def test_it_refuses_several_documents() -> None:
    assert "single document" in config_error("a: 1\n---\nb: 2\n")


def test_it_refuses_bytes_that_are_not_utf8() -> None:
    assert "UTF-8" in config_error(b"a: \xff\xfe\n")


def test_it_refuses_control_characters() -> None:
    assert "not valid YAML" in config_error("a: \x07\n")


def test_it_refuses_an_integer_too_long_for_python_cleanly() -> None:
    assert "too many digits" in config_error("maxTrials: " + "9" * 5000 + "\n")


def test_it_refuses_text_that_is_not_text() -> None:
    with pytest.raises(SpecError):
        load_config(42)  # type: ignore[arg-type]


def test_it_keeps_yaml_1_1_floats_without_a_dot_as_strings_which_the_parser_accepts() -> None:
    data = load_config(
        "trainingInput:\n"
        "  pythonModule: t.task\n"
        "  hyperparameters:\n"
        "    params:\n"
        "    - {parameterName: lr, type: DOUBLE, minValue: 1e-5, maxValue: 1.0e-1,"
        " scaleType: UNIT_LOG_SCALE}\n"
    )
    assert data["trainingInput"]["hyperparameters"]["params"][0]["minValue"] == "1e-5"
    p = parse_job(data, require_job_id=False).definition.hyperparameters.params[0]
    assert (p.min_value, p.max_value) == (1e-5, 0.1)


def test_it_raises_only_spec_error_for_random_garbage() -> None:
    rng = random.Random(20240601)
    alphabet = "ab:-[]{}'\"!&*#|>%@`,?\n\t 01.\\\x00é"
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        try:
            assert isinstance(load_config(text), dict)
        except SpecError:
            pass
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        try:
            assert isinstance(load_config(raw), dict)
        except SpecError:
            pass


def test_it_applies_the_same_guards_with_the_pure_python_yaml_loader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import yaml

    from hpdash.core.spec import config

    monkeypatch.setattr(config, "_Loader", yaml.SafeLoader)
    assert "tag" in config_error("a: !!python/object/apply:os.system ['x']\n")
    assert "aliases" in config_error("a: &a [1]\nb: *a\n")
    assert "nested" in config_error("a: " + "[" * 5000 + "]" * 5000)
    assert "duplicate key" in config_error("a: 1\na: 2\n")
    assert "line 2" in config_error("a: b\n c: d\n")
    assert load_config("enableTrialEarlyStopping: TRUE\n") == {"enableTrialEarlyStopping": True}
