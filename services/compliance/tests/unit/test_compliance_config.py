"""Compliance's settings: secrets are required in production, development gets a fixed key, lists parse."""
import base64

import pytest

from compliance.config import DEV_AUDIT_KEY, load_config


def test_production_refuses_to_start_without_its_keys(monkeypatch):
    monkeypatch.delenv("COMPLIANCE_AUDIT_KEY", raising=False)
    monkeypatch.delenv("COMPLIANCE_PSEUDONYM_KEY", raising=False)
    with pytest.raises(SystemExit, match="COMPLIANCE_AUDIT_KEY, COMPLIANCE_PSEUDONYM_KEY"):
        load_config({}, "production")
    monkeypatch.setenv("COMPLIANCE_AUDIT_KEY", "base64:" + base64.b64encode(b"a" * 32).decode())
    monkeypatch.setenv("COMPLIANCE_PSEUDONYM_KEY", "p" * 40)
    config = load_config({}, "production")
    assert config.audit_key_bytes() == b"a" * 32 and "a" * 8 not in repr(config)


def test_short_keys_and_bad_values_stop_the_start(monkeypatch):
    monkeypatch.setenv("COMPLIANCE_AUDIT_KEY", "too short")
    with pytest.raises(SystemExit, match="at least 32 bytes"):
        load_config({}, "development")
    monkeypatch.delenv("COMPLIANCE_AUDIT_KEY")
    with pytest.raises(SystemExit, match="dsr_timeout"):
        load_config({"DSR_TIMEOUT": -1}, "development")


def test_development_defaults_and_lists(monkeypatch):
    monkeypatch.delenv("COMPLIANCE_AUDIT_KEY", raising=False)
    monkeypatch.setenv("COMPLIANCE_AUDIT_SOURCES", "goals, feedback")
    config = load_config({"BOOTSTRAP_ADMINS": "root,ops"}, "development")
    assert config.audit_key_bytes() == DEV_AUDIT_KEY.encode()
    assert config.audit_sources == ["goals", "feedback"] and config.bootstrap_admins == ["root", "ops"]
