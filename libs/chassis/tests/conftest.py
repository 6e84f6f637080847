import uuid

import pytest

from chassis.testing.toy import create_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, pg):
    """Database tests run on both supported backends: the embedded default and production's."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'chassis.db'}"
    else:
        name = f"jxt_chassis_{uuid.uuid4().hex[:10]}"
        url = pg.create(name)
        request.addfinalizer(lambda: pg.drop(name))
    create_schema(url)
    return url


@pytest.fixture
def pg_toy_url(pg):
    """A PostgreSQL database with the toy schema, for tests of what only PostgreSQL does."""
    name = f"jxt_chassis_{uuid.uuid4().hex[:10]}"
    url = pg.create(name)
    create_schema(url)
    yield url
    pg.drop(name)
