import subprocess
import sys


def test_the_cores_import_without_django():
    code = ("import sys\n"
            "import hpdash.core.spec, hpdash.core.suggest, hpdash.core.runner, hpdash.core.policy\n"
            "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
