"""The notifications service under test: a fresh vhost and migrated PostgreSQL database, a real SMTP server
(aiosmtpd, in its own process, writing a Maildir) and real HTTP receivers on localhost (webhooks, the SMS
provider's API); helpers to feed the org directory and the client registry and to publish suite events."""
from __future__ import annotations

import itertools
import json
import mailbox
import socket
import subprocess
import sys
import time
import uuid

import eventlet
import pytest
from eventlet import wsgi
from sqlalchemy import text

from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
from chassis.db import create_db_engine
from chassis.testing.plugin import wait_for
from contracts import Actor, Envelope
from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged

SMS_SID = "AC0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A real HTTP server on localhost recording every POST; `behaviour[path]` = (status, delay seconds)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.behaviour: dict[str, tuple[int, float]] = {}
        self.sock = eventlet.listen(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = eventlet.spawn(wsgi.server, self.sock, self.app, log_output=False, max_size=1000)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        path = environ["PATH_INFO"]
        status, delay = self.behaviour.get(path, (200, 0.0))
        if delay:
            eventlet.sleep(delay)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        self.requests.append({"path": path, "headers": headers, "body": body, "at": time.time(), "status": status})
        answer = json.dumps({"sid": f"SM{uuid.uuid4().hex}", "status": "queued"}).encode()
        start_response(f"{status} X", [("content-type", "application/json")])
        return [answer]

    def to(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def close(self):
        self.thread.kill()
        self.sock.close()


class SmtpServer:
    """aiosmtpd in its own process (asyncio does not mix with eventlet's patching), delivering into a Maildir."""

    def __init__(self, directory):
        self.port = free_port()
        self.dir = directory
        self.proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
                                      "-c", "aiosmtpd.handlers.Mailbox", str(directory)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                eventlet.sleep(0.1)

    def messages(self) -> list:
        box = mailbox.Maildir(str(self.dir), create=False)
        return [box[key] for key in box.keys()]

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


class Harness:
    sms_sid = SMS_SID
    sms_path = f"/2010-04-01/Accounts/{SMS_SID}/Messages.json"  # Twilio's Messages API

    def __init__(self, amqp_uri, db_url, smtp, receiver):
        self.amqp_uri, self.db_url, self.smtp, self.receiver = amqp_uri, db_url, smtp, receiver
        self.engine = create_db_engine(db_url)
        self._versions = itertools.count(1)
        self._publishers = {}
        self._clients = {}

    def config(self, **extra) -> dict:
        return {"DATABASE_URL": self.db_url, "OUTBOX_POLL_INTERVAL": 0.2, "EVENT_RETRY_DELAYS": [0.05, 0.1],
                "SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.smtp.port, "SMS_PROVIDER": "twilio",
                "SMS_BASE_URL": self.receiver.url(""), "SMS_ACCOUNT_SID": SMS_SID, "SMS_AUTH_TOKEN": "token",
                "SMS_FROM": "+15005550006", "DISPATCH_INTERVAL": 0.1, "WEBHOOK_RETRY_BASE": 0.2,
                "WEBHOOK_RETRY_CAP": 1.0, "WEBHOOK_MAX_ATTEMPTS": 3, "WEBHOOK_TIMEOUT": 2.0,
                "REGISTRY_TIMEOUT": 0.3, **extra}

    def as_(self, subject: str, kind: str = "person", scopes=()):
        from chassis.remote import StandaloneRpc

        key = (subject, kind, tuple(scopes))
        if key not in self._clients:
            actor = Actor(subject=subject, kind=kind, scopes=tuple(scopes))
            self._clients[key] = StandaloneRpc(self.amqp_uri, timeout=20, actor=actor).start()
        return self._clients[key].caller().notifications

    def publish(self, service: str, *events, ids=None):
        """Publish events as `service` would; returns the envelopes."""
        if service not in self._publishers:
            self._publishers[service] = ConfirmingPublisher(self.amqp_uri, declare=[events_exchange(service)])
        envelopes = []
        for i, event in enumerate(events):
            envelope = Envelope.wrap(event, event_id=ids[i] if ids else None)
            self._publishers[service].publish(OutgoingMessage(f"{service}.events", envelope.type,
                                                              envelope.model_dump_json()))
            envelopes.append(envelope)
        return envelopes

    def publish_raw(self, service: str, envelope: Envelope):
        self._publishers[service].publish(OutgoingMessage(f"{service}.events", envelope.type,
                                                          envelope.model_dump_json()))

    def org(self, units=(), people=(), grants=None):
        """units: (id, parent); people: (id, unit, manager); grants: {subject: [(role, unit)]}."""
        events = [OrgUnitChanged(org_unit_id=u, version=next(self._versions), name=u, parent_id=p) for u, p in units]
        events += [PersonChanged(person_id=p, version=next(self._versions), name=f"name of {p}", org_unit_id=u,
                                 manager_id=mgr) for p, u, mgr in people]
        events += [RoleGrantsChanged(subject_id=s, version=next(self._versions),
                                     grants=[RoleGrant(role=r, org_unit_id=u) for r, u in found])
                   for s, found in (grants or {}).items()]
        self.publish("compliance", *events)
        versions = [e.version for e in events]
        wait_for(lambda: self.scalar(
            "select count(*) from (select version from chassis_org_people union all select version from "
            "chassis_org_units union all select version from chassis_org_grants) v where version = any(:v)",
            v=versions) == len(versions), timeout=60, message="org events applied")

    def scalar(self, sql, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def execute(self, sql, **params) -> int:
        with self.engine.begin() as conn:
            return conn.execute(text(sql), params).rowcount

    def close(self):
        for client in self._clients.values():
            client.stop()
        for publisher in self._publishers.values():
            publisher.close()
        self.engine.dispose()


@pytest.fixture
def harness(amqp_uri, pg_database, tmp_path):
    smtp = SmtpServer(tmp_path / "mail")
    receiver = Receiver()
    h = Harness(amqp_uri, pg_database("notifications"), smtp, receiver)
    try:
        yield h
    finally:
        h.close()
        receiver.close()
        smtp.close()
