"""Broker users: each service its own RabbitMQ user, allowed to publish only on its own events exchange.

`guest` has every right on every exchange: anyone holding it can publish `jixiao.compliance.grants.changed.v1`.
With these users the broker itself refuses a publish on `<svc>.events` by anyone but `<svc>` (regular write
permission), and the owner may publish there only routing keys of its own types (topic permission). Third parties
get a user that can declare, bind and read queues named `ext-<client>-…` and nothing else. Events are still signed
(chassis.signing): permissions are the first wall, signatures the second (the default exchange `amq.default`, which
the chassis needs for retries and dead letters, lets a service reach any queue by name).

    python -m chassis.brokerusers apply --vhost / goals feedback incentives compliance gateway   # dev/CI
    python -m chassis.brokerusers show goals                                                    # the regexes

`apply` creates or updates each user with rabbitmqctl (password from `<SVC>_BROKER_PASSWORD`, else generated)
and prints the AMQP URI per service. docs/security.md lists the exact permission set; deploy/ declares the same
as Messaging Topology Operator resources.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

EXCHANGE_NAME = r"[a-z][a-z0-9_-]*\.events"


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str
    topics: dict[str, tuple[str, str]] = field(default_factory=dict)  # exchange -> (write, read) regexes


def area_of(service: str) -> str:
    """The `<area>` of the event types a service publishes (`jixiao.<area>.…`)."""
    return service.split("_")[0]


# Queues a service declares and binds for others: notifications provisions each AMQP consumer's `ext-<client>-…`
# queue (the consumer itself may only read it, see `consumer_permissions`).
PROVISIONED_QUEUES = {"notifications": r"ext-.+"}


def service_permissions(service: str) -> Permissions:
    s = re.escape(service)
    own_queues = rf"rpc-{s}|rpc\.reply-{s}-.+|evt-.+--{s}\..+"
    if service in PROVISIONED_QUEUES:
        own_queues += "|" + PROVISIONED_QUEUES[service]
    return Permissions(
        # declare its queues, nameko's RPC exchange and the events exchanges it reads (consumers declare them)
        configure=rf"^(nameko-rpc|{EXCHANGE_NAME}|{own_queues})$",
        # publish on its own exchange, RPC, and the default exchange (retries and dead letters); bind own queues
        write=rf"^(nameko-rpc|{s}\.events|amq\.default|{own_queues})$",
        # bind from and consume: every events exchange (the audit log listens to all), RPC, its own queues
        read=rf"^(nameko-rpc|{EXCHANGE_NAME}|{own_queues})$",
        topics={f"{service}.events": (rf"^jixiao\.{re.escape(area_of(service))}\..+$", ".*")},
    )


def third_party_permissions(client: str) -> Permissions:
    q = rf"ext-{re.escape(client)}-.+"
    return Permissions(configure=rf"^{q}$", write=rf"^{q}$", read=rf"^({q}|{EXCHANGE_NAME})$",
                       topics={})


def consumer_permissions(queue: str, topics: dict[str, str]) -> Permissions:
    """A third party that reads one queue the suite declared and bound for it: no configure, no write (it can
    neither declare, bind nor publish), read on that queue only; per events exchange a topic permission that
    publishes nothing and reads only the routing keys `topics[exchange]` (a regex) allows."""
    return Permissions(configure="^$", write="^$", read=f"^{re.escape(queue)}$",
                       topics={exchange: ("^$", regex) for exchange, regex in topics.items()})


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt + sha256(salt + password)), a 4-byte salt. The
    broker keeps only this; so does whoever provisions (the password is handed to its owner once)."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(vhost: str, user: str, password: str, perms: Permissions) -> dict[str, object]:
    """One user with its permissions as a definitions document (`rabbitmqctl import_definitions`, or the
    management API's POST /api/definitions): one round trip instead of one rabbitmqctl run per setting."""
    return {
        "users": [{"name": user, "password_hash": password_hash(password),
                   "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}],
        "permissions": [{"user": user, "vhost": vhost, "configure": perms.configure, "write": perms.write,
                         "read": perms.read}],
        "topic_permissions": [{"user": user, "vhost": vhost, "exchange": exchange, "write": w, "read": r}
                              for exchange, (w, r) in perms.topics.items()],
    }


class Rabbitmqctl:
    def __init__(self, ctl: str | None = None):
        self.ctl = ctl or shutil.which("rabbitmqctl") or "rabbitmqctl"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.ctl, *args], capture_output=True, text=True, timeout=60)

    def ensure_user(self, user: str, password: str) -> None:
        if password.startswith("-"):  # rabbitmqctl parses it as its options, and the user is never made
            raise ValueError(f"the broker password of {user} starts with '-', which rabbitmqctl takes for an option")
        if self.run("add_user", user, password).returncode != 0:
            done = self.run("change_password", user, password)
            if done.returncode != 0:
                raise RuntimeError(f"cannot create user {user}: {done.stderr.strip()}")

    def grant(self, vhost: str, user: str, perms: Permissions) -> None:
        for args in [("set_permissions", "-p", vhost, user, perms.configure, perms.write, perms.read),
                     ("clear_topic_permissions", "-p", vhost, user),
                     *[("set_topic_permissions", "-p", vhost, user, exchange, w, r)
                       for exchange, (w, r) in perms.topics.items()]]:
            done = self.run(*args)
            if done.returncode != 0 and args[0] != "clear_topic_permissions":
                raise RuntimeError(f"{' '.join(args[:1])} for {user}: {done.stderr.strip()}")

    def delete_user(self, user: str) -> None:
        self.run("delete_user", user)

    def import_definitions(self, document: dict[str, object]) -> None:
        """Applied by the broker shortly after this returns (the import is asynchronous)."""
        done = subprocess.run([self.ctl, "import_definitions"], input=json.dumps(document), capture_output=True,
                              text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"import_definitions: {done.stderr.strip() or done.stdout.strip()}")

    def close_user_connections(self, user: str, reason: str) -> None:
        self.run("close_all_user_connections", user, reason)


def new_password() -> str:
    """192 random bits as hex: never a leading '-' (a URL-safe token starts with one once in 64, and rabbitmqctl
    then took the password for options: CI failed on it)."""
    return secrets.token_hex(24)


def apply(vhost: str, services: list[str], third_parties: Sequence[str] = (), *, prefix: str = "",
          ctl: Rabbitmqctl | None = None, passwords: dict[str, str] | None = None) -> dict[str, str]:
    """Create/update the users; returns {service or client: password}. `prefix` namespaces the user names (tests)."""
    ctl = ctl or Rabbitmqctl()
    passwords = dict(passwords or {})
    for name in [*services, *third_parties]:
        password = passwords.get(name) or os.environ.get(f"{name.upper()}_BROKER_PASSWORD") or new_password()
        passwords[name] = password
        ctl.ensure_user(prefix + name, password)
        perms = service_permissions(name) if name in services else third_party_permissions(name)
        ctl.grant(vhost, prefix + name, perms)
    return passwords


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chassis.brokerusers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["apply", "show"])
    parser.add_argument("services", nargs="+")
    parser.add_argument("--vhost", default="/")
    parser.add_argument("--third-party", action="append", default=[], help="a read-only client (ext-<name>-*)")
    parser.add_argument("--host", default="127.0.0.1:5672")
    args = parser.parse_args(argv)
    if args.command == "show":
        for name in [*args.services, *args.third_party]:
            perms = service_permissions(name) if name in args.services else third_party_permissions(name)
            print(f"{name}\n  configure {perms.configure}\n  write     {perms.write}\n  read      {perms.read}")
            for exchange, (w, r) in perms.topics.items():
                print(f"  topic {exchange}: write {w} read {r}")
        return 0
    passwords = apply(args.vhost, args.services, args.third_party)
    for name, password in passwords.items():
        print(f"{name.upper()}_AMQP_URI=amqp://{name}:{password}@{args.host}/{args.vhost.lstrip('/')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
