"""Compliance settings and the PIPL/GDPR presets (one step), and the privacy notice every employee may read."""
from __future__ import annotations

from chassis.access import Resource
from chassis.errors import Forbidden, InvalidInput
from compliance.domain.errors import InvalidInput as DomainInvalidInput
from compliance.domain.presets import (
    ComplianceSettings,
    available_presets,
    load_preset,
    parse_settings,
)
from compliance.domain.presets import (
    apply_preset as preset_applied,
)
from compliance.models import SettingsRow
from compliance.usecases.common import ComplianceUnitOfWork, dumps, loads
from contracts.actor import Actor
from contracts.compliance import ApplyPreset, PrivacyNotice, SettingsChanged, SettingsView, UpdateSettings

SETTINGS_ID = 1


def current(session) -> ComplianceSettings:
    row = session.get(SettingsRow, SETTINGS_ID)
    return ComplianceSettings() if row is None else parse_settings(loads(row.settings, {}))


def _save(uow: ComplianceUnitOfWork, settings: ComplianceSettings) -> None:
    row = uow.session.get(SettingsRow, SETTINGS_ID, with_for_update=True)
    before = {} if row is None else loads(row.settings, {})
    after = settings.model_dump(mode="json")
    if row is None:
        row = SettingsRow(id=SETTINGS_ID, settings="{}")
        uow.session.add(row)
    if before == after:
        return
    row.settings, row.updated_at = dumps(after), uow.now()
    uow.publish(SettingsChanged(preset=settings.preset, before=before, after=after))


def _view(settings: ComplianceSettings) -> SettingsView:
    return SettingsView(settings=settings.model_dump(mode="json"), presets=available_presets())


def get_settings(uow: ComplianceUnitOfWork, actor: Actor | None) -> SettingsView:
    with uow:
        uow.access.require(actor, "settings.update", Resource("settings"))
        return _view(current(uow.session))


def update_settings(uow: ComplianceUnitOfWork, actor: Actor | None, command: UpdateSettings) -> SettingsView:
    with uow:
        uow.access.require(actor, "settings.update", Resource("settings"))
        try:
            settings = parse_settings({**current(uow.session).model_dump(mode="json"), **command.settings})
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
        settings = preset_applied(current(uow.session), load_preset(command.preset))
        _save(uow, settings)
        return _view(settings)


def privacy_notice(uow: ComplianceUnitOfWork, actor: Actor | None) -> PrivacyNotice:
    with uow:
        if actor is None:
            uow.record_denial(actor, "notice.read", Resource("settings"), "no authenticated actor")
            raise Forbidden("no authenticated actor")
        settings = current(uow.session)
        notice = settings.notice
        return PrivacyNotice(preset=settings.preset, zh=notice.zh if notice else None, en=notice.en if notice else None)
