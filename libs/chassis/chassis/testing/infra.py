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
import re
import shutil
import subprocess
import time
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


STALE_HOURS = 6.0  # no test run lasts this long: an older test vhost was left by a run that was killed
_AGED = re.compile(r"jx-test-([0-9a-f]{8})-[0-9a-f]{8}")
_UNAGED = re.compile(r"jx-test-[0-9a-f]{12}")  # the names before they carried their age


def vhost_name(now: float | None = None) -> str:
    """`jx-test-<seconds since the epoch, hex>-<random>`: its age can be read from its name."""
    return f"jx-test-{int(time.time() if now is None else now):08x}-{uuid.uuid4().hex[:8]}"


def vhost_is_stale(name: str, now: float, max_age_hours: float = STALE_HOURS) -> bool:
    aged = _AGED.fullmatch(name)
    if aged:
        return now - int(aged.group(1), 16) > max_age_hours * 3600
    return _UNAGED.fullmatch(name) is not None


class VhostManager:
    """Creates and deletes vhosts with rabbitmqctl when it is here, else the management HTTP API.

    Each rabbitmqctl call boots an Erlang VM (about 1 s idle, 6 s on a loaded CI machine), and a vhost took two
    calls to make and one to drop: most of a broker test's setup. So vhosts are made `BATCH` at a time in one
    `rabbitmqctl eval` (refilled in the background before the pool runs dry) and dropped in batches; each test
    still gets a vhost no other test ever used. If eval is refused (another RabbitMQ's internals), the plain
    commands are used as before."""

    BATCH = 12

    def __init__(self, amqp_uri: str, api_uri: str | None = None):
        self.amqp_uri = amqp_uri
        parts = urlsplit(amqp_uri)
        self.user = parts.username or "guest"
        self.password = parts.password or "guest"
        self.api_uri = api_uri or f"http://{parts.hostname or '127.0.0.1'}:15672"
        self.ctl = shutil.which("rabbitmqctl") if parts.hostname in ("127.0.0.1", "localhost", None) else None
        self._batched = bool(self.ctl)
        self._ready: list[str] = []
        self._filling: tuple[subprocess.Popen[bytes], list[str]] | None = None
        self._doomed: list[str] = []
        self._dropping: list[subprocess.Popen[bytes]] = []

    def _api(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api_uri + path, data=data, method=method)
        req.add_header("Authorization", "Basic " + b64encode(f"{self.user}:{self.password}".encode()).decode())
        req.add_header("Content-Type", "application/json")
        urllib.request.urlopen(req, timeout=10).read()

    def _eval(self, expression: str) -> subprocess.Popen[bytes]:
        assert self.ctl
        return subprocess.Popen([self.ctl, "eval", expression], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def _start_filling(self) -> None:
        names = [vhost_name() for _ in range(self.BATCH)]
        user = _erlang_binary(self.user)
        adds = ", ".join(
            f"ok = rabbit_vhost:add({_erlang_binary(v)}, <<\"jixiao-tests\">>), "
            f"ok = rabbit_auth_backend_internal:set_permissions({user}, {_erlang_binary(v)}, <<\".*\">>, "
            f"<<\".*\">>, <<\".*\">>, <<\"jixiao-tests\">>)" for v in names)
        self._filling = (self._eval(adds + ", made."), names)

    def _take_batched(self) -> str | None:
        if not self._ready:
            if self._filling is None:
                self._start_filling()
            assert self._filling is not None
            proc, names = self._filling
            self._filling = None
            out, _ = proc.communicate(timeout=120)
            if proc.returncode != 0 or b"made" not in out:
                self._batched = False  # this broker refuses the internal calls: one command per step, as before
                self._doomed.extend(names)
                return None
            self._ready.extend(names)
        vhost = self._ready.pop()
        if len(self._ready) <= self.BATCH // 2 and self._filling is None:
            self._start_filling()  # the next batch boots its VM while tests run
        return vhost

    def create(self) -> str:
        vhost = self._take_batched() if self._batched else None
        if vhost is None:
            vhost = vhost_name()
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
        from urllib.parse import unquote

        vhost = unquote(urlsplit(uri).path.lstrip("/"))
        if self.ctl:
            # a used vhost's queues have no consumers left: dropping it a few tests later changes nothing
            self._doomed.append(vhost)
            if wait or len(self._doomed) >= self.BATCH:
                self._drop_doomed(wait)
        else:
            try:
                self._api("DELETE", f"/api/vhosts/{quote(vhost, safe='')}")
            except Exception:
                pass

    def _drop_doomed(self, wait: bool) -> None:
        doomed, self._doomed = self._doomed, []
        if not doomed:
            return
        assert self.ctl
        vhosts = ", ".join(_erlang_binary(v) for v in doomed)
        # rabbit_vhost:delete answers ok or {error, ...} per vhost (one already gone is not an error here)
        proc = self._eval(f"[rabbit_vhost:delete(V, <<\"jixiao-tests\">>) || V <- [{vhosts}]], dropped.")
        if self._batched and not wait:
            self._dropping = [p for p in self._dropping if p.poll() is None] + [proc]
            return
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0 or b"dropped" not in out:
            for vhost in doomed:
                one = subprocess.Popen([self.ctl, "delete_vhost", vhost], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
                if wait:
                    one.wait(timeout=60)

    def sweep_stale(self, max_age_hours: float = STALE_HOURS) -> None:
        """Drop, in the background, the test vhosts that interrupted runs left (a killed run never drops its own):
        each idle vhost keeps broker processes of its own, and a few hundred of them cost RabbitMQ a sixth of a core
        with nothing running, which every later test and benchmark on the machine paid. A vhost is stale when its
        name says it was made more than `max_age_hours` ago, or when its name is of the form used before names
        carried their age."""
        if not self.ctl:
            return
        listed = subprocess.run([self.ctl, "list_vhosts", "-q", "name"], capture_output=True, text=True, timeout=120)
        stale = [name for name in listed.stdout.split() if vhost_is_stale(name, time.time(), max_age_hours)]
        if stale:
            self._doomed.extend(stale)
            self._drop_doomed(wait=False)

    def close(self) -> None:
        """Drop every vhost made for this session (used ones and the unused rest of the pool)."""
        if self._filling is not None:
            proc, names = self._filling
            self._filling = None
            proc.communicate(timeout=120)
            self._ready.extend(names)
        if self.ctl:
            self._doomed.extend(self._ready)
            self._ready = []
            self._drop_doomed(wait=True)
        for proc in self._dropping:
            proc.wait(timeout=120)
        self._dropping = []


def _erlang_binary(text: str) -> str:
    """An Erlang binary literal for a vhost or user name (these names are plain ASCII without quotes)."""
    if not text.isascii() or '"' in text or "\\" in text:
        raise ValueError(f"unexpected broker name {text!r}")
    return f'<<"{text}">>'


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
