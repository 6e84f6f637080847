"""`python -m chassis.testing [pytest args]`: pytest under eventlet, patched before anything else is imported
(as the services run under `nameko run`)."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # nameko 2.14 needs eventlet; noise

import eventlet

eventlet.monkey_patch()

import sys

import pytest

if __name__ == "__main__":
    sys.exit(pytest.main(sys.argv[1:]))
