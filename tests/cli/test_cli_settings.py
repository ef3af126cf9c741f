"""Where url, token and project come from: flag > environment > config file > default."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
import yaml

from hpdash.cli.main import main
from hpdash.cli.settings import (
    DEFAULT_PROJECT,
    DEFAULT_URL,
    ConfigError,
    Settings,
    config_path,
    set_value,
)


def test_defaults_without_flags_env_or_file(tmp_path: Path):
    s = Settings.resolve({}, env={"HPDASH_CONFIG": str(tmp_path / "none.yaml")})
    assert (s.url, s.token, s.project, s.data_dir) == (DEFAULT_URL, "", DEFAULT_PROJECT, "")
    assert DEFAULT_URL == "http://127.0.0.1:8000" and DEFAULT_PROJECT == "local"


def test_flags_beat_env_which_beats_the_config_file(tmp_path: Path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("url: http://file:1\ntoken: file-tok\nproject: file-proj\n")
    env = {"HPDASH_CONFIG": str(cfg), "HPDASH_TOKEN": "env-tok", "HPDASH_PROJECT": "env-proj"}
    s = Settings.resolve({"project": "flag-proj"}, env=env)
    assert (s.url, s.token, s.project) == ("http://file:1", "env-tok", "flag-proj")


def test_the_config_file_defaults_to_the_users_config_dir(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_path({}) == tmp_path / ".config" / "hpdash" / "config.yaml"
    assert config_path({"HPDASH_CONFIG": "~/x.yaml"}) == tmp_path / "x.yaml"


def test_config_set_writes_a_private_file_and_keeps_other_keys(tmp_path: Path):
    path = tmp_path / "sub" / "config.yaml"
    set_value(path, "url", "http://server:8000")
    set_value(path, "token", "secret")
    assert yaml.safe_load(path.read_text()) == {"url": "http://server:8000", "token": "secret"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_config_set_refuses_unknown_keys_and_bad_urls(tmp_path: Path):
    with pytest.raises(ConfigError, match="unknown config key"):
        set_value(tmp_path / "c.yaml", "colour", "blue")
    with pytest.raises(ConfigError, match="http://"):
        set_value(tmp_path / "c.yaml", "url", "server:8000")


def test_a_broken_config_file_is_a_clean_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("- just\n- a list\n")
    monkeypatch.setenv("HPDASH_CONFIG", str(cfg))
    err = io.StringIO()
    assert main(["jobs", "list"], out=io.StringIO(), err=err) == 1
    assert "must be a mapping" in err.getvalue()


def test_the_config_commands_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cfg = tmp_path / "c.yaml"
    monkeypatch.setenv("HPDASH_CONFIG", str(cfg))
    err = io.StringIO()
    assert main(["config", "set", "token", "tok"], out=io.StringIO(), err=err) == 0
    assert main(["config", "set", "project", "p1"], out=io.StringIO(), err=err) == 0
    assert "Updated property [token]" in err.getvalue()
    out = io.StringIO()
    assert main(["config", "list"], out=out, err=io.StringIO()) == 0
    shown = yaml.safe_load(out.getvalue())
    assert shown["project"] == "p1" and shown["token"] == "********", "the token is not shown"
    assert main(["config", "unset", "project"], out=io.StringIO(), err=io.StringIO()) == 0
    assert yaml.safe_load(cfg.read_text()) == {"token": "tok"}
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600


def test_a_token_on_the_command_line_still_works_but_warns(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HPDASH_CONFIG", str(tmp_path / "c.yaml"))
    err = io.StringIO()
    assert main(["config", "set", "token", "tok"], out=io.StringIO(), err=err) == 0
    assert "WARNING" in err.getvalue() and "every local user can read" in err.getvalue()
    err = io.StringIO()
    main(["--token", "t", "--url", "http://127.0.0.1:9", "jobs", "list"], out=io.StringIO(),
         err=err)
    assert "WARNING: --token puts the API token on the command line" in err.getvalue()
    err = io.StringIO()
    monkeypatch.setenv("HPDASH_TOKEN", "t")
    main(["--url", "http://127.0.0.1:9", "jobs", "list"], out=io.StringIO(), err=err)
    assert "WARNING" not in err.getvalue()


def test_config_set_token_reads_the_token_from_standard_input(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    cfg = tmp_path / "c.yaml"
    monkeypatch.setenv("HPDASH_CONFIG", str(cfg))
    monkeypatch.setattr("sys.stdin", io.StringIO("hpd_from_stdin\n"))
    err = io.StringIO()
    assert main(["config", "set", "token"], out=io.StringIO(), err=err) == 0
    assert "WARNING" not in err.getvalue()
    assert yaml.safe_load(cfg.read_text()) == {"token": "hpd_from_stdin"}
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    err = io.StringIO()
    assert main(["config", "set", "token", "-"], out=io.StringIO(), err=err) == 1
    assert "no token given" in err.getvalue()
