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


def test_rotated_audit_keys_keep_verifying_what_they_signed(monkeypatch):
    monkeypatch.delenv("COMPLIANCE_AUDIT_KEY", raising=False)
    old = "o" * 32
    older = base64.b64encode(b"x" * 40).decode()
    config = load_config({"AUDIT_KEY": "n" * 32, "AUDIT_KEY_ID": "k3",
                          "AUDIT_RETIRED_KEYS": f"k2={old}; k1=base64:{older}"}, "development")
    assert config.audit_verification_keys() == {"k3": b"n" * 32, "k2": b"o" * 32, "k1": b"x" * 40}
    assert old not in repr(config)


@pytest.mark.parametrize("retired, message", [
    ("k1", "pair 1 is not id=key"),
    ("k1=" + "a" * 32 + ";k1=" + "b" * 32, "appears twice"),
    ("k1=short", "shorter than 32 bytes"),
    ("k9=" + "a" * 32, "is the current AUDIT_KEY_ID"),
])
def test_bad_retired_keys_stop_the_start_without_echoing_them(monkeypatch, retired, message):
    monkeypatch.delenv("COMPLIANCE_AUDIT_KEY", raising=False)
    with pytest.raises(SystemExit, match=message) as stopped:
        load_config({"AUDIT_KEY_ID": "k9", "AUDIT_RETIRED_KEYS": retired}, "development")
    assert "a" * 32 not in str(stopped.value) and "short" not in str(stopped.value).replace("shorter", "")
