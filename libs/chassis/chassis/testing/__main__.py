"""`python -m chassis.testing [pytest args]`: pytest under eventlet, patched before anything else is imported
(as the services run under `nameko run`)."""
import eventlet

eventlet.monkey_patch()

import sys

import pytest

if __name__ == "__main__":
    sys.exit(pytest.main(sys.argv[1:]))
