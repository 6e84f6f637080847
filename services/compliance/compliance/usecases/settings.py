"""Compliance settings and the PIPL/GDPR presets (one step), and the privacy notice every employee may read."""
from __future__ import annotations

from chassis.access import Resource
from chassis.errors import Forbidden, InvalidInput
from compliance.domain.errors import InvalidInput as DomainInvalidInput
from compliance.domain.presets import (
    CompliancePolicy,
    available_presets,
    load_preset,
    parse_settings,
)
from compliance.domain.presets import (
    apply_preset as preset_applied,
)
from compliance.models import SettingsRow
from compliance.repositories import SETTINGS_ID, ComplianceUnitOfWork
from compliance.usecases.common import dumps, loads
from contracts.actor import Actor
from contracts.compliance import ApplyPreset, PrivacyNotice, SettingsChanged, SettingsView, UpdateSettings


def current(uow: ComplianceUnitOfWork) -> CompliancePolicy:
    """The company's compliance policy (the defaults until an administrator sets one)."""
    row = uow.policy.row()
    return CompliancePolicy() if row is None else parse_settings(loads(row.settings, {}))


def _save(uow: ComplianceUnitOfWork, settings: CompliancePolicy) -> None:
    row = uow.policy.row(lock=True)
    before = {} if row is None else loads(row.settings, {})
    after = settings.model_dump(mode="json")
    if row is None:
        row = SettingsRow(id=SETTINGS_ID, settings="{}")
        uow.policy.add(row)
    if before == after:
        return
    row.settings, row.updated_at = dumps(after), uow.now()
    uow.publish(SettingsChanged(preset=settings.preset, before=before, after=after))


def _view(settings: CompliancePolicy) -> SettingsView:
    return SettingsView(settings=settings.model_dump(mode="json"), presets=available_presets())


def get_settings(uow: ComplianceUnitOfWork, actor: Actor | None) -> SettingsView:
    with uow:
        uow.access.require(actor, "settings.update", Resource("settings"))
        return _view(current(uow))


def update_settings(uow: ComplianceUnitOfWork, actor: Actor | None, command: UpdateSettings) -> SettingsView:
    with uow:
        uow.access.require(actor, "settings.update", Resource("settings"))
        try:
            settings = parse_settings({**current(uow).model_dump(mode="json"), **command.settings})
        except DomainInvalidInput as error:  # paths inside the payload's `settings` object
            raise InvalidInput(error.message, errors=[
                {"field": ".".join(["settings", *map(str, e.path)]), "message": e.message} for e in error.errors
            ]) from None
        _save(uow, settings)
        return _view(settings)


def apply_preset(uow: ComplianceUnitOfWork, actor: Actor | None, command: ApplyPreset) -> SettingsView:
    """Retention periods, DSR deadline, cross-border rules and notice text of PIPL or GDPR, in one step."""
    with uow:
        uow.access.require(actor, "settings.update", Resource("settings"))
        settings = preset_applied(current(uow), load_preset(command.preset))
        _save(uow, settings)
        return _view(settings)


def privacy_notice(uow: ComplianceUnitOfWork, actor: Actor | None) -> PrivacyNotice:
    with uow:
        if actor is None:
            uow.record_denial(actor, "notice.read", Resource("settings"), "no authenticated actor")
            raise Forbidden("no authenticated actor")
        settings = current(uow)
        notice = settings.notice
        return PrivacyNotice(preset=settings.preset, zh=notice.zh if notice else None, en=notice.en if notice else None)
