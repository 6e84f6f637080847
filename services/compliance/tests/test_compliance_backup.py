"""Encrypted backup → restore round trip of a PostgreSQL and a SQLite database, comparing contents; a tampered
archive is refused before anything is replaced."""
import base64
import os

import pytest
from sqlalchemy import create_engine, inspect, text

from compliance.tools.backup import BackupError, Target, backup, main, restore

KEY = os.urandom(32)


def snapshot(url):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
            return {t: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{t}"')).all()), key=repr) for t in tables}
    finally:
        engine.dispose()


def execute(url, *statements):
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_backup_and_restore_round_trip(pg_database, tmp_path):
    from chassis.testing.toy import create_schema

    pg_url = pg_database("compliance")
    execute(pg_url, "INSERT INTO compliance_org_units VALUES ('hq', 1, '总部', NULL, false, now())",
            "INSERT INTO compliance_legal_holds VALUES ('h1', 'dispute', 'T', NULL, '[]', 'root', now(), NULL)")
    lite_url = f"sqlite:///{tmp_path / 'goals.db'}"
    create_schema(lite_url)
    execute(lite_url, "INSERT INTO toy_notes VALUES ('n1', 'hello'), ('n2', '你好')")
    targets = [Target("compliance", pg_url), Target("goals", lite_url)]
    before = {t.service: snapshot(t.url) for t in targets}

    archives = backup(targets, tmp_path / "backups", KEY)
    assert [a.name for a in archives] == ["compliance.jxbk", "goals.jxbk"]
    assert b"hello" not in archives[1].read_bytes() and "总部".encode() not in archives[0].read_bytes()

    execute(pg_url, "DELETE FROM compliance_legal_holds", "UPDATE compliance_org_units SET name = 'changed'",
            "INSERT INTO compliance_org_units VALUES ('x', 1, 'x', NULL, false, now())")
    execute(lite_url, "DELETE FROM toy_notes WHERE id = 'n1'", "INSERT INTO toy_notes VALUES ('n3', 'new')")
    changed = {t.service: snapshot(t.url) for t in targets}

    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for archive in archives:
        data = bytearray(archive.read_bytes())
        if archive.name == "goals.jxbk":
            data[-40] ^= 0x01
        (tampered / archive.name).write_bytes(bytes(data))
    with pytest.raises(BackupError, match=r"goals\.jxbk: chunk .* failed authentication"):
        restore(targets, tampered, KEY)
    assert {t.service: snapshot(t.url) for t in targets} == changed  # verified first: nothing replaced
    with pytest.raises(BackupError, match="wrong key"):
        restore(targets, tmp_path / "backups", os.urandom(32))

    restore(targets, tmp_path / "backups", KEY)
    assert {t.service: snapshot(t.url) for t in targets} == before


def test_the_command_line_needs_the_key_and_writes_archives(tmp_path, monkeypatch, capsys):
    from chassis.testing.toy import create_schema

    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    create_schema(url)
    monkeypatch.delenv("JIXIAO_BACKUP_KEY", raising=False)
    assert main(["backup", "--dir", str(tmp_path / "b"), "--service", f"feedback={url}"]) == 1
    assert "JIXIAO_BACKUP_KEY" in capsys.readouterr().err
    monkeypatch.setenv("JIXIAO_BACKUP_KEY", base64.b64encode(KEY).decode())
    assert main(["backup", "--dir", str(tmp_path / "b"), "--service", f"feedback={url}"]) == 0
    assert main(["restore", "--dir", str(tmp_path / "b"), "--service", f"feedback={url}"]) == 0
    assert (tmp_path / "b" / "feedback.jxbk").exists()
