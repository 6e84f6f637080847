"""The operator's witness of the audit log: an append-only file of signed checkpoints (one canonical JSON line
each), outside the database. Whoever can rewrite the database cannot rewrite what was already written here (keep
it on storage the database's owner cannot change: a separate volume, an object store with retention lock, or a
log shipper tailing it), and every checkpoint is also published as `jixiao.compliance.audit.checkpointed.v1` for
other services and third parties to keep. `verify_audit` reads it back.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from compliance.domain.audit_chain import WitnessRecord, witness_line


class WitnessFile:
    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, records: Iterable[WitnessRecord]) -> None:
        """Append and fsync: a checkpoint counts as witnessed only once it is on disk."""
        data = "".join(witness_line(record) + "\n" for record in records).encode("utf-8")
        if not data:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def lines(self) -> list[str]:
        try:
            return self.path.read_text("utf-8").splitlines()
        except FileNotFoundError:
            return []


def holds_anchor(lines: Iterable[str], sequence: int, entry_hash: str) -> bool:
    """Whether the witness already has an anchor record at this position (its signature is checked on
    verification, not here)."""
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("kind") == "anchor" and record.get("sequence") == sequence \
                and record.get("hash") == entry_hash:
            return True
    return False
