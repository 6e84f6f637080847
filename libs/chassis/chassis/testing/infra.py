"""Where the tests' broker and database come from, and how each test gets its own.

- `JIXIAO_TEST_AMQP_URI` / `JIXIAO_TEST_PG_URL` name them; otherwise, when a Docker engine answers, pytest-docker
  starts them from deploy/compose.yaml; otherwise the local services on 127.0.0.1 are used. Never skipped.
- Each test gets its own RabbitMQ vhost (created with rabbitmqctl or the management API, deleted afterwards), so
  durable queues left by one test never feed another.
- Each service's migrations run once per session into a template database; each test gets a copy
  (`CREATE DATABASE ... TEMPLATE`), which is fast and starts from exactly the migrated schema.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
import uuid
from base64 import b64encode
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import sqlalchemy as sa

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def docker_engine_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def with_vhost(amqp_uri: str, vhost: str) -> str:
    parts = urlsplit(amqp_uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))


class VhostManager:
    """Creates and deletes vhosts with rabbitmqctl when it is here, else the management HTTP API."""

    def __init__(self, amqp_uri: str, api_uri: str | None = None):
        self.amqp_uri = amqp_uri
        parts = urlsplit(amqp_uri)
        self.user = parts.username or "guest"
        self.password = parts.password or "guest"
        self.api_uri = api_uri or f"http://{parts.hostname or '127.0.0.1'}:15672"
        self.ctl = shutil.which("rabbitmqctl") if parts.hostname in ("127.0.0.1", "localhost", None) else None

    def _api(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api_uri + path, data=data, method=method)
        req.add_header("Authorization", "Basic " + b64encode(f"{self.user}:{self.password}".encode()).decode())
        req.add_header("Content-Type", "application/json")
        urllib.request.urlopen(req, timeout=10).read()

    def create(self) -> str:
        vhost = f"jx-test-{uuid.uuid4().hex[:12]}"
        if self.ctl:
            subprocess.run([self.ctl, "add_vhost", vhost], check=True, capture_output=True, timeout=60)
            subprocess.run([self.ctl, "set_permissions", "-p", vhost, self.user, ".*", ".*", ".*"],
                           check=True, capture_output=True, timeout=60)
        else:
            self._api("PUT", f"/api/vhosts/{quote(vhost, safe='')}")
            self._api("PUT", f"/api/permissions/{quote(vhost, safe='')}/{quote(self.user, safe='')}",
                      {"configure": ".*", "write": ".*", "read": ".*"})
        return with_vhost(self.amqp_uri, vhost)

    def delete(self, uri: str, wait: bool = False) -> None:
        vhost = urlsplit(uri).path.lstrip("/")
        from urllib.parse import unquote
        vhost = unquote(vhost)
        if self.ctl:
            proc = subprocess.Popen([self.ctl, "delete_vhost", vhost], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            if wait:
                proc.wait(timeout=60)
        else:
            try:
                self._api("DELETE", f"/api/vhosts/{quote(vhost, safe='')}")
            except Exception:
                pass


class PgManager:
    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)

    def url_for(self, database: str) -> str:
        return sa.engine.make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if template:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            else:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def leftovers(self, prefix: str) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                        (prefix + "%",)).all()
        return [r[0] for r in rows]


def test_amqp_uri() -> str:
    return os.environ.get("JIXIAO_TEST_AMQP_URI", DEFAULT_AMQP)


def test_pg_url() -> str:
    return os.environ.get("JIXIAO_TEST_PG_URL", DEFAULT_PG)
