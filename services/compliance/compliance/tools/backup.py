"""Encrypted backup and restore of every service's database (`make backup` / `make restore`).

    python -m compliance.backup backup  --dir var/backups [--service goals=URL ...]
    python -m compliance.backup restore --dir var/backups [--service goals=URL ...] [--only goals]

One authenticated-encrypted archive per service (`<service>.jxbk`, AES-256-GCM in chunks, compliance's
backup_crypto format), with the key from `JIXIAO_BACKUP_KEY` (base64 of 32 bytes; `python -m compliance.backup
keygen` makes one). SQLite databases are copied with SQLite's online backup API; PostgreSQL with `pg_dump`
(plain SQL that drops and recreates every object) and restored with `psql` in one transaction.

Restore verifies every archive completely (each chunk authenticated, decrypted to a private staging file) before
it replaces anything; a tampered, truncated or wrongly keyed archive stops the restore with nothing changed.
Databases default to each service's settings (`<SERVICE>_DATABASE_URL`, else the SQLite file under var/).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from compliance.domain.backup_crypto import decode_key, decrypt_stream, encrypt_stream, generate_key
from compliance.domain.errors import IntegrityError, InvalidInput

SERVICES = ("goals", "feedback", "incentives", "compliance")
KEY_ENV = "JIXIAO_BACKUP_KEY"
SUFFIX = ".jxbk"


class BackupError(Exception):
    """A backup or restore could not be done; the message says why (and that nothing was replaced)."""


@dataclass(frozen=True)
class Target:
    service: str
    url: str

    @property
    def kind(self) -> str:
        backend = make_url(self.url).get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise BackupError(f"{self.service}: unsupported database {backend}")
        return backend

    @property
    def sqlite_path(self) -> Path:
        return Path(make_url(self.url).database)

    @property
    def libpq_url(self) -> str:
        url = make_url(self.url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)


def default_targets(services=SERVICES) -> list[Target]:
    from chassis.settings import load_settings

    return [Target(service, load_settings(service).effective_database_url) for service in services]


def _key() -> bytes:
    text = os.environ.get(KEY_ENV)
    if not text:
        raise BackupError(f"set {KEY_ENV} (base64 of 32 bytes; `python -m compliance.backup keygen` makes one)")
    try:
        return decode_key(text)
    except InvalidInput as error:
        raise BackupError(f"{KEY_ENV}: {error.message}") from None


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(f"{command[0]} is not installed")
    result = subprocess.run([tool, *command[1:]], capture_output=True, **kwargs)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.decode(errors='replace')[-500:]}")
    return result


# -- backup ----------------------------------------------------------------------------------------------------

def backup(targets: list[Target], directory: Path, key: bytes | None = None) -> list[Path]:
    key = key or _key()
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for target in targets:
        metadata = {"service": target.service, "kind": target.kind, "format": 1,
                    "created_at": datetime.now(UTC).isoformat()}
        final = directory / f"{target.service}{SUFFIX}"
        partial = final.with_suffix(SUFFIX + ".partial")
        with tempfile.TemporaryDirectory(prefix="jx-backup-") as scratch:
            plain = Path(scratch) / "plain"
            if target.kind == "sqlite":
                if not target.sqlite_path.exists():
                    raise BackupError(f"{target.service}: no database file {target.sqlite_path}")
                source, copy = sqlite3.connect(target.sqlite_path), sqlite3.connect(plain)
                try:
                    source.backup(copy)  # a consistent snapshot while the service runs
                finally:
                    copy.close()
                    source.close()
            else:
                _run(["pg_dump", "--format=plain", "--no-owner", "--no-privileges", "--clean", "--if-exists",
                      "--file", str(plain), target.libpq_url])
            with plain.open("rb") as source, partial.open("wb") as archive:
                encrypt_stream(source, archive, key, metadata)
        os.replace(partial, final)  # an archive is either whole or absent
        written.append(final)
    return written


# -- restore ---------------------------------------------------------------------------------------------------

def _verified(archive: Path, key: bytes, target: Target, scratch: Path) -> Path:
    staged = scratch / f"{target.service}.plain"
    try:
        with archive.open("rb") as source, staged.open("wb") as plain:
            metadata = decrypt_stream(source, plain, key)
    except IntegrityError as error:
        raise BackupError(f"{archive.name}: {error.message}; nothing was restored") from None
    if metadata.get("service") != target.service or metadata.get("kind") != target.kind:
        raise BackupError(f"{archive.name} is a {metadata.get('kind')} backup of {metadata.get('service')}, not of "
                          f"{target.service} ({target.kind}); nothing was restored")
    return staged


def restore(targets: list[Target], directory: Path, key: bytes | None = None) -> list[str]:
    key = key or _key()
    with tempfile.TemporaryDirectory(prefix="jx-restore-") as scratch:
        staged = {}
        for target in targets:  # every archive verified before anything is replaced
            archive = directory / f"{target.service}{SUFFIX}"
            if not archive.exists():
                raise BackupError(f"no archive {archive}; nothing was restored")
            staged[target.service] = _verified(archive, key, target, Path(scratch))
        for target in targets:
            plain = staged[target.service]
            if target.kind == "sqlite":
                path = target.sqlite_path
                path.parent.mkdir(parents=True, exist_ok=True)
                incoming = path.with_name(path.name + ".restoring")
                shutil.copyfile(plain, incoming)
                for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                    extra.unlink(missing_ok=True)
                os.replace(incoming, path)
            else:
                _run(["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                      "--file", str(plain), target.libpq_url])
    return [target.service for target in targets]


# -- command line ----------------------------------------------------------------------------------------------

def _targets(args) -> list[Target]:
    if args.service:
        targets = []
        for spec in args.service:
            name, _, url = spec.partition("=")
            if not name or not url:
                raise BackupError(f"--service wants NAME=URL, got {spec!r}")
            targets.append(Target(name, url))
    else:
        targets = default_targets()
    if args.only:
        targets = [t for t in targets if t.service in args.only]
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compliance.backup", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["backup", "restore", "keygen"])
    parser.add_argument("--dir", type=Path, default=Path("var/backups"))
    parser.add_argument("--service", action="append", help="NAME=DATABASE_URL (repeatable); default: all four")
    parser.add_argument("--only", action="append", help="restrict to these services")
    args = parser.parse_args(argv)
    try:
        if args.command == "keygen":
            print(generate_key())
        elif args.command == "backup":
            for path in backup(_targets(args), args.dir):
                print(f"wrote {path}")
        else:
            for service in restore(_targets(args), args.dir):
                print(f"restored {service}")
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
