#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxdash.settings")
    from django.core.management import execute_from_command_line

    from voxdash.runtime import runtime_folders_ensure

    # Importing settings creates no folder; migrate and runserver write the SQLite database there.
    runtime_folders_ensure()
    execute_from_command_line(sys.argv)
