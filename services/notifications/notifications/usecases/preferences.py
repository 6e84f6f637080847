"""A person's contact details, language, channels, quiet hours and digest hour.

The org directory's events carry no contact data (compliance keeps it), so the person registers where they want
to be told, here; HR in their scope or an administrator may set it for them."""
from __future__ import annotations

from chassis.access import Resource
from contracts import notifications as c
from contracts.actor import Actor
from notifications import models as m
from notifications.domain import delivery
from notifications.repositories import NotificationsUnitOfWork
from notifications.usecases.common import person_of, require
from notifications.views import preferences_view


def _target(uow: NotificationsUnitOfWork, actor: Actor | None, person_id: str | None) -> str:
    if person_id is None:
        return person_of(actor)
    require(uow, actor, "notification.preferences", Resource(kind="person", owner=person_id))
    return person_id


def get_preferences(uow: NotificationsUnitOfWork, actor: Actor | None, query: c.PersonRef) -> c.PreferencesView:
    with uow:
        person = _target(uow, actor, query.person_id)
        return preferences_view(person, uow.session.get(m.Preference, person))


def set_preferences(uow: NotificationsUnitOfWork, actor: Actor | None, command: c.SetPreferences) -> c.PreferencesView:
    delivery.zone(command.timezone)  # a 400 naming `timezone` before anything is written
    with uow:
        person = _target(uow, actor, command.person_id)
        row = uow.session.get(m.Preference, person)
        if row is None:
            row = m.Preference(person_id=person)
            uow.session.add(row)
        row.language, row.timezone = command.language, command.timezone
        row.email, row.phone = command.email, command.phone
        row.channels = sorted(set(command.channels))
        row.quiet_start = command.quiet_hours.start if command.quiet_hours else None
        row.quiet_end = command.quiet_hours.end if command.quiet_hours else None
        row.digest_hour = command.digest_hour
        row.updated_at = uow.now()
        return preferences_view(person, row)
