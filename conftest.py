"""Repository-wide pytest configuration (the fixtures themselves are the `jixiao` plugin in chassis.testing)."""
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def docker_compose_file():
    """pytest-docker starts RabbitMQ and PostgreSQL from here when a Docker engine is present and no broker or
    database is configured (see chassis.testing.plugin)."""
    return str(Path(__file__).parent / "deploy" / "compose.yaml")
