"""Compliance's settings: secrets are required in production, development gets a fixed key, lists parse."""
import base64

import pytest

from compliance.settings import DEV_AUDIT_KEY, load_compliance_settings

# production also needs its own database and broker user (chassis.settings); these tests are about the keys
PRODUCTION = {"ENVIRONMENT": "production", "DATABASE_URL": "postgresql://db/compliance",
              "AMQP_URI": "amqp://compliance:secret@broker:5672/"}


def load_config(config, environment):
    """The settings as the service loads them, in `environment`."""
    if environment == "production":
        return load_compliance_settings({**PRODUCTION, **config})
    return load_compliance_settings({"ENVIRONMENT": environment, **config})


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


def test_every_setting_reads_its_compliance_env_var(monkeypatch):
    """The names deploy/ and the README use keep working: COMPLIANCE_<NAME>, comma lists, the chassis's shared ones."""
    monkeypatch.setenv("COMPLIANCE_DSR_SERVICES", "goals,notifications")
    monkeypatch.setenv("COMPLIANCE_DSR_TIMEOUT", "7.5")
    monkeypatch.setenv("COMPLIANCE_AUDIT_KEY_ID", "k7")
    monkeypatch.setenv("COMPLIANCE_UPLOAD_DIR", "/srv/uploads")
    monkeypatch.setenv("COMPLIANCE_DATABASE_URL", "postgresql://db/compliance")
    monkeypatch.setenv("COMPLIANCE_EVENT_RETRY_DELAYS", "[0.5, 2]")
    settings = load_config({}, "development")
    assert settings.dsr_services == ["goals", "notifications"] and settings.dsr_timeout == 7.5
    assert settings.audit_key_id == "k7" and str(settings.upload_dir) == "/srv/uploads"
    assert settings.database_url == "postgresql://db/compliance" and settings.event_retry_delays == (0.5, 2.0)
    assert load_config({"DSR_TIMEOUT": 2}, "development").dsr_timeout == 2  # the config key wins


def test_defaults_are_the_documented_ones(monkeypatch):
    for name in ("AUDIT_SOURCES", "DSR_SERVICES", "APPEAL_TARGET_CHECKS", "BOOTSTRAP_ADMINS"):
        monkeypatch.delenv("COMPLIANCE_" + name, raising=False)
    settings = load_config({}, "development")
    assert settings.audit_sources == ["goals", "feedback", "incentives", "compliance", "gateway"]
    assert settings.dsr_services == ["goals", "feedback", "incentives", "notifications"]
    assert settings.appeal_target_checks == ["goal_result", "rating"] and settings.bootstrap_admins == []
    assert (settings.audit_checkpoint_every, settings.audit_checkpoint_interval, settings.audit_seal_attempts,
            settings.audit_ready_max_lag, settings.dsr_timeout, settings.dsr_answer_deadline,
            settings.deadline_check_interval, settings.api_key_cache_seconds, settings.appeal_check_timeout,
            settings.retention_check_interval) == (1000, 5.0, 3, 300.0, 5.0, 86400.0, 300.0, 60.0, 1.5, 3600.0)
    assert settings.witness_path() == settings.var_dir / "compliance-audit-witness.jsonl"
