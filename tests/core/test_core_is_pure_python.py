"""The cores and the CLI never import Django: every module under hpdash/core/ and hpdash/cli/
is imported in a fresh interpreter, and no django module may be loaded afterwards."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import hpdash

ROOT = Path(hpdash.__file__).parent


def _modules(package: str) -> list[str]:
    path = ROOT / package.split(".", 1)[1].replace(".", "/")
    return [m.name for m in pkgutil.walk_packages([str(path)], prefix=f"{package}.")] + [package]


def test_every_core_and_cli_module_imports_without_django():
    modules = _modules("hpdash.core") + _modules("hpdash.cli")
    assert "hpdash.core.runner.plan" in modules and "hpdash.cli.main" in modules
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n"
            "    importlib.import_module(m)\n"
            "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, env={"PATH": "/usr/bin:/bin"})
