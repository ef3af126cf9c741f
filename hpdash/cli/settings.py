"""Where the CLI finds its server, token and project: flags, then ``HPDASH_*`` environment
variables, then the config file (``$HPDASH_CONFIG`` or ``~/.config/hpdash/config.yaml``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_PROJECT = "local"

# config-file key -> environment variable
KEYS = {
    "url": "HPDASH_URL",
    "token": "HPDASH_TOKEN",
    "project": "HPDASH_PROJECT",
    "data_dir": "HPDASH_DATA_DIR",
}


class ConfigError(Exception):
    pass


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("HPDASH_CONFIG"):
        return Path(env["HPDASH_CONFIG"]).expanduser()
    return Path.home() / ".config" / "hpdash" / "config.yaml"


def read_config(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a mapping of {', '.join(KEYS)}")
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


def write_config(path: Path, values: Mapping[str, str]) -> None:
    """Write atomically with mode 0600 (the file holds an API token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".yaml")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(dict(sorted(values.items())), f, default_flow_style=False)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    os.chmod(path, 0o600)


def set_value(path: Path, key: str, value: str) -> None:
    if key not in KEYS:
        raise ConfigError(f"unknown config key {key!r}: use one of {', '.join(KEYS)}")
    if key == "url" and not value.startswith(("http://", "https://")):
        raise ConfigError(f"url must start with http:// or https://, not {value!r}")
    values = read_config(path)
    values[key] = value
    write_config(path, values)


def unset_value(path: Path, key: str) -> bool:
    values = read_config(path)
    if key not in values:
        return False
    del values[key]
    write_config(path, values)
    return True


@dataclass(frozen=True)
class Settings:
    url: str
    token: str
    project: str
    data_dir: str

    @classmethod
    def resolve(cls, flags: Mapping[str, Any], env: Mapping[str, str] | None = None
                ) -> Settings:
        """``flags`` maps ``url``/``token``/``project``/``data_dir`` to a value or None."""
        env = os.environ if env is None else env
        file_values: dict[str, str] | None = None

        def pick(key: str, default: str) -> str:
            nonlocal file_values
            if flags.get(key):
                return str(flags[key])
            if env.get(KEYS[key]):
                return env[KEYS[key]]
            if file_values is None:
                file_values = read_config(config_path(env))
            return file_values.get(key) or default

        return cls(url=pick("url", DEFAULT_URL).rstrip("/"), token=pick("token", ""),
                   project=pick("project", DEFAULT_PROJECT), data_dir=pick("data_dir", ""))
