import pytest

from compliance.domain.errors import InvalidInput, NotFound
from compliance.domain.presets import CompliancePolicy, apply_preset, available_presets, load_preset, parse_settings
from compliance.domain.retention import RetentionBasis, RetentionPolicy


def test_both_presets_ship():
    assert available_presets() == ["gdpr", "pipl"]


def test_pipl_preset():
    pipl = load_preset("pipl")
    assert pipl.dsr_deadline_days == 15
    assert not pipl.cross_border_transfer.allowed
    assert pipl.cross_border_transfer.conditions
    assert pipl.data_localization
    assert pipl.audit_min_retention_days >= 180
    assert "个人信息保护法" in pipl.notice.zh
    assert "PIPL" in pipl.notice.en
    assert pipl.retention["person"] == RetentionPolicy(basis=RetentionBasis.ENDED, anonymize_after_years=2)


def test_gdpr_preset():
    gdpr = load_preset("gdpr")
    assert gdpr.dsr_deadline_days == 30
    assert gdpr.cross_border_transfer.allowed
    assert not gdpr.data_localization
    assert "GDPR" in gdpr.notice.zh
    assert "one month" in gdpr.notice.en


@pytest.mark.parametrize("preset_id", ["pipl", "gdpr"])
def test_presets_cover_every_record_type_and_never_anonymize_audit(preset_id):
    preset = load_preset(preset_id)
    assert set(preset.retention) == {
        "person", "review", "goal", "checkin", "feedback", "incentive", "appeal", "dsr", "audit",
    }  # fmt: skip
    assert preset.retention["audit"].anonymize_after_years is None


def test_unknown_preset():
    with pytest.raises(NotFound, match="gdpr, pipl"):
        load_preset("ccpa")


def test_apply_preset_in_one_step_keeps_what_it_does_not_govern():
    custom = {"training": RetentionPolicy(purge_after_years=1), "person": RetentionPolicy(purge_after_years=50)}
    settings = CompliancePolicy(appeal_decision_days=14, audit_checkpoint_every=500, retention=custom)
    applied = apply_preset(settings, load_preset("pipl"))
    assert applied.preset == "pipl"
    assert applied.dsr_deadline_days == 15
    assert applied.data_localization
    assert applied.notice == load_preset("pipl").notice
    assert (applied.appeal_decision_days, applied.audit_checkpoint_every) == (14, 500)
    assert applied.retention["training"] == custom["training"]
    assert applied.retention["person"] == load_preset("pipl").retention["person"]
    assert apply_preset(applied, load_preset("pipl")) == applied


def test_switching_presets():
    settings = apply_preset(apply_preset(CompliancePolicy(), load_preset("pipl")), load_preset("gdpr"))
    assert settings.preset == "gdpr"
    assert settings.dsr_deadline_days == 30
    assert settings.cross_border_transfer.allowed
    assert settings.retention["person"].anonymize_after_years == 3


def test_settings_validation_names_fields():
    with pytest.raises(InvalidInput) as raised:
        parse_settings({"dsr_deadline_days": 0, "retention": {"goal": {"basis": "whenever", "purge_after_years": 1}}})
    paths = {error.path for error in raised.value.errors}
    assert ("dsr_deadline_days",) in paths
    assert ("retention", "goal", "basis") in paths


def test_the_audit_log_is_never_anonymized_and_kept_long_enough():
    with pytest.raises(InvalidInput, match="settings"):
        parse_settings({"retention": {"audit": {"anonymize_after_years": 1}}})
    with pytest.raises(InvalidInput):
        parse_settings({"audit_min_retention_days": 400, "retention": {"audit": {"purge_after_years": 1}}})
    assert parse_settings({"retention": {"audit": {"purge_after_years": 1}}}).retention["audit"].purge_after_years == 1
