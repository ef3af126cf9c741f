"""Settings for unit tests: the real settings, in a throw-away data dir (never ./var)."""

import os
import tempfile

os.environ.setdefault("HPDASH_DATA_DIR", tempfile.mkdtemp(prefix="hpdash-test-"))

from hpdash.settings import *  # noqa: F403
