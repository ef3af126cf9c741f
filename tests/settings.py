"""Settings for unit tests: the real settings, in a throw-away data dir (never ./var)."""

import os
import tempfile

if "HPDASH_DATA_DIR" not in os.environ:  # made here: removed by a session that passes
    os.environ["HPDASH_DATA_DIR"] = os.environ["HPDASH_TEST_DATA_DIR_MADE"] = tempfile.mkdtemp(
        prefix="hpdash-test-")

from hpdash.settings import *  # noqa: F403
