"""Run the whole suite on one machine: `python -m chassis.suite up|migrate|list [--suite suite.yaml]`.

- Embedded (no AMQP_URI, or AMQP_URI=memory://): one process, kombu's in-memory broker, SQLite files under
  ./var. Every service runs in its own nameko container with its own config, exactly as in production.
- AMQP_URI=amqp://...: every service is its own `nameko run` process (set `<SERVICE>_DATABASE_URL` for
  PostgreSQL). Ctrl-C (or SIGTERM) stops them all; if one dies, the others are stopped too.

Migrations run first in both modes.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # nameko 2.14 needs eventlet; noise

import eventlet

if __name__ == "__main__":
    # first: the services and the libraries they import must see green sockets and locks. Only when run: a test
    # or tool importing the helpers below must not patch the standard library behind its back.
    eventlet.monkey_patch()

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from chassis.container import ServiceContainer
    from chassis.remote import RpcCaller

# the suite's development seed: called once with an RPC caller after every service has started
Seed = Callable[["RpcCaller"], object]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    service: str           # "package.module:Class"
    config: Path | None    # None: no config file found, settings come from the environment alone
    migrations: str | None = None  # a package name: its migrations are found through the installed package


def find_config(root: Path, name: str, declared: str | None) -> Path | None:
    """A service's config file, in the repository's layout or the image's: `$JIXIAO_CONFIG_DIR/<name>.yaml`, the
    path suite.yaml declares (services/goals/config.yaml, relative to suite.yaml), then `config/<name>.yaml` beside
    suite.yaml (what deploy/Dockerfile lays out). None when there is none: migrations need only the environment."""
    candidates = []
    if os.environ.get("JIXIAO_CONFIG_DIR"):
        candidates.append(Path(os.environ["JIXIAO_CONFIG_DIR"]) / f"{name}.yaml")
    if declared:
        candidates.append(root / declared)
    candidates.append(root / "config" / f"{name}.yaml")
    return next((path for path in candidates if path.is_file()), None)


def load_suite(path: Path) -> list[ServiceSpec]:
    doc = yaml.safe_load(path.read_text())
    root = path.parent
    return [ServiceSpec(s["name"], s["service"], find_config(root, s["name"], s.get("config")), s.get("migrations"))
            for s in doc["services"]]


def require_config(spec: ServiceSpec) -> Path:
    if spec.config is None:
        raise SystemExit(f"no config file for {spec.name}: set JIXIAO_CONFIG_DIR, or keep config/{spec.name}.yaml "
                         "beside suite.yaml")
    return spec.config


def load_seed(path: Path) -> Seed | None:
    """The suite's development seed: a function taking an RPC caller, run once everything has started."""
    target = (yaml.safe_load(path.read_text()) or {}).get("seed")
    if not target or os.environ.get("ENVIRONMENT", "development") != "development":
        return None
    module, _, name = target.partition(":")
    seed_module = import_module(module)
    seed: Seed = getattr(seed_module, name)
    apply_development_settings(getattr(seed_module, "DEVELOPMENT_SETTINGS", {}))
    return seed


def apply_development_settings(settings: dict[str, str]) -> None:
    """The settings the seed's data needs to be usable (who sits on which panel, say), given to every service of
    a development suite unless the environment already sets them: they name the demo's people, so they live with
    the seed and never in a service's config file, which production uses too."""
    for variable, value in settings.items():
        os.environ.setdefault(variable, value)


def run_seed(seed: Seed, amqp_uri: str) -> None:
    from chassis.remote import StandaloneRpc
    from contracts.actor import Actor

    with StandaloneRpc(amqp_uri, timeout=30, actor=Actor(subject="service:seed", kind="service",
                                                         roles=("system",))) as caller:
        seed(caller)
    print("development data seeded", flush=True)


def load_config(path: Path | None) -> dict[str, Any]:
    """The service's config.yaml with `${ENV:default}` substituted, as `nameko run` reads it ({} without one)."""
    if path is None:
        return {}
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()
    with open(path) as handle:
        config: dict[str, Any] = yaml.safe_load(handle) or {}
    return config


def service_class(spec: ServiceSpec) -> type:
    module, _, cls = spec.service.partition(":")
    service: type = getattr(import_module(module), cls)
    return service


def embedded() -> bool:
    return (os.environ.get("AMQP_URI") or "memory://").startswith("memory://")


def database_url(spec: ServiceSpec) -> str:
    from chassis.settings import load_settings

    return load_settings(spec.name, load_config(spec.config)).effective_database_url


def migrate(specs: list[ServiceSpec]) -> None:
    from chassis.migrations import upgrade

    for spec in specs:
        if spec.migrations:
            url = database_url(spec)
            ensure_sqlite_folder(url)
            print(f"migrating {spec.name}", flush=True)
            upgrade(spec.migrations, url)


def ensure_sqlite_folder(url: str) -> None:
    """The folder of an embedded SQLite file (./var by default); nothing for a server database, so a read-only
    root filesystem (the Kubernetes Job) is never written."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def up_embedded(specs: list[ServiceSpec], ready_file: Path | None = None, seed: Seed | None = None) -> int:
    import eventlet

    from chassis.container import ServiceContainer
    from chassis.logs import configure_logging

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), os.environ.get("LOG_FORMAT", "text"))
    stopping = eventlet.event.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not stopping.ready():
            stopping.send(signum)

    signal.signal(signal.SIGINT, on_signal)  # before anything starts, so Ctrl-C always stops cleanly
    signal.signal(signal.SIGTERM, on_signal)
    containers: list[ServiceContainer] = []
    for spec in specs:
        if stopping.ready():
            break
        container = ServiceContainer(service_class(spec), load_config(require_config(spec)))
        container.start()
        containers.append(container)
        address = container.config.get("WEB_SERVER_ADDRESS")
        print(f"started {spec.name:<11} http://{address}", flush=True)
    if seed is not None and not stopping.ready():
        run_seed(seed, "memory://")
    print("suite is up (embedded: in-memory broker, SQLite under ./var); Ctrl-C stops it", flush=True)
    if ready_file is not None:
        ready_file.write_text("up\n")

    dead = [eventlet.spawn(c.wait) for c in containers]
    while not stopping.ready():
        if any(gt.dead for gt in dead):
            print("a service died; stopping the suite", flush=True)
            break
        eventlet.sleep(0.2)
    for container in reversed(containers):
        try:
            with eventlet.Timeout(15):
                container.stop()
        except BaseException:
            container.kill()
    print("suite stopped", flush=True)
    return 0 if stopping.ready() else 1


def wait_ready(spec: ServiceSpec, proc: subprocess.Popen[bytes], stopping: Callable[[], bool] = lambda: False,
               timeout: float = 60) -> None:
    import urllib.request

    address = load_config(spec.config).get("WEB_SERVER_ADDRESS", "127.0.0.1:8000").replace("0.0.0.0", "127.0.0.1")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None and not stopping():
        try:
            with urllib.request.urlopen(f"http://{address}/health/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    print(f"{spec.name} is not ready after {timeout:.0f}s", flush=True)


def up_processes(specs: list[ServiceSpec], seed: Seed | None = None) -> int:
    stop: dict[str, int | None] = {"signal": None}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop["signal"] = signum

    # before anything starts: Ctrl-C during start-up must stop what has started, not kill the supervisor
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for spec in specs:
        if stop["signal"] is not None:
            break
        cmd = [sys.executable, "-m", "nameko", "run", "--config", str(require_config(spec)), spec.service]
        procs[spec.name] = subprocess.Popen(cmd)
        print(f"started {spec.name} (pid {procs[spec.name].pid})", flush=True)
        # in order: each declares its queues before the next one publishes
        wait_ready(spec, procs[spec.name], lambda: stop["signal"] is not None)
    if seed is not None and stop["signal"] is None:
        import eventlet

        with eventlet.Timeout(120):
            run_seed(seed, os.environ["AMQP_URI"])
    failed = None
    while stop["signal"] is None and failed is None:
        for name, proc in procs.items():
            if proc.poll() is not None:
                failed = name
                print(f"{name} exited with {proc.returncode}; stopping the suite", flush=True)
                break
        time.sleep(0.3)
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    print("suite stopped", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chassis.suite", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "migrate", "list"])
    parser.add_argument("--suite", type=Path, default=Path("suite.yaml"))
    parser.add_argument("--only", help="comma-separated service names")
    parser.add_argument("--ready-file", type=Path, help="written once every service has started")
    args = parser.parse_args(argv)
    specs = load_suite(args.suite)
    if args.only:
        wanted = set(args.only.split(","))
        specs = [s for s in specs if s.name in wanted]
    if args.command == "list":
        for spec in specs:
            print(f"{spec.name:<11} {spec.service:<45} {spec.config}")
        return 0
    migrate(specs)  # creates ./var only when a service's database is a SQLite file there
    if args.command == "migrate":
        return 0
    seed = load_seed(args.suite)
    return up_embedded(specs, args.ready_file, seed) if embedded() else up_processes(specs, seed)


if __name__ == "__main__":
    sys.exit(main())
