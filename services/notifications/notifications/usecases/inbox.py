"""A person's inbox: newest first, unread counts, marking read. Only the caller's own notifications."""
from __future__ import annotations

from sqlalchemy import select, update

from contracts import notifications as c
from contracts.actor import Actor
from notifications import models as m
from notifications.domain.errors import InvalidInput
from notifications.repositories import NotificationsUnitOfWork
from notifications.usecases.common import person_of
from notifications.views import notification_view


def list_inbox(uow: NotificationsUnitOfWork, actor: Actor | None, query: c.ListInbox) -> c.InboxPage:
    person = person_of(actor)
    with uow:
        stmt = select(m.Notification).where(m.Notification.person_id == person)
        if query.unread_only:
            stmt = stmt.where(m.Notification.read_at.is_(None))
        if query.cursor:
            if not query.cursor.isdigit():
                raise InvalidInput("cursor", "not a cursor from a previous page")
            stmt = stmt.where(m.Notification.seq < int(query.cursor))
        rows = list(uow.session.scalars(stmt.order_by(m.Notification.seq.desc()).limit(query.limit + 1)))
        more = len(rows) > query.limit
        rows = rows[:query.limit]
        return c.InboxPage(items=[notification_view(r) for r in rows], unread=uow.repo.unread(person),
                           next_cursor=str(rows[-1].seq) if more else None)


def unread_count(uow: NotificationsUnitOfWork, actor: Actor | None) -> c.UnreadCount:
    person = person_of(actor)
    with uow:
        return c.UnreadCount(unread=uow.repo.unread(person))


def mark_read(uow: NotificationsUnitOfWork, actor: Actor | None, command: c.MarkRead) -> c.UnreadCount:
    person = person_of(actor)
    if not command.all and not command.notification_ids:
        raise InvalidInput("notification_ids", "name the notifications to mark read, or set all")
    with uow:
        stmt = update(m.Notification).where(m.Notification.person_id == person, m.Notification.read_at.is_(None))
        if not command.all:
            stmt = stmt.where(m.Notification.id.in_(command.notification_ids))
        marked = uow.session.execute(stmt.values(read_at=uow.now())).rowcount
        return c.UnreadCount(unread=uow.repo.unread(person), marked=marked)
