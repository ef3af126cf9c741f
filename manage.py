#!/usr/bin/env python
"""Django's command-line utility for hpdash."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hpdash.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:  # a malformed HPDASH_* knob: say which, no traceback
        sys.exit(f"hpdash: {exc}")


if __name__ == "__main__":
    main()
