"""Message templates: the built-in ones per kind and language, overridden per channel by company HR. A template
naming a field its kind may not show is refused (400 naming the field)."""
from __future__ import annotations

from chassis.access import Resource
from contracts import notifications as c
from contracts.actor import Actor
from notifications import models as m
from notifications.domain import routes, templates
from notifications.repositories import NotificationsUnitOfWork
from notifications.usecases.common import require, subject_of
from notifications.views import template_view

TEMPLATES = Resource(kind="notification_template")


def save_template(uow: NotificationsUnitOfWork, actor: Actor | None, command: c.SaveTemplate) -> c.TemplateView:
    template = templates.check_template(templates.Template(command.kind, command.language, command.channel,
                                                           command.title, command.body))
    with uow:
        require(uow, actor, "notification.templates", TEMPLATES)
        row = uow.session.get(m.Template, (command.kind, command.language, command.channel))
        if row is None:
            row = m.Template(kind=command.kind, language=command.language, channel=command.channel)
            uow.session.add(row)
        row.title, row.body = template.title, template.body
        row.updated_by, row.updated_at = subject_of(actor), uow.now()
        return template_view(template, custom=True)


def list_templates(uow: NotificationsUnitOfWork, actor: Actor | None, query: c.ListTemplates) -> c.TemplateList:
    kinds = [templates.route_of(query.kind).kind] if query.kind else sorted(routes.KINDS)
    with uow:
        require(uow, actor, "notification.templates", TEMPLATES)
        custom = uow.repo.templates(query.kind)
    out = []
    for kind in kinds:
        for language in templates.LANGUAGES:
            for channel in templates.CHANNELS:
                row = custom.get((kind, language, channel))
                if row is not None:
                    out.append(template_view(templates.Template(kind, language, channel, row.title, row.body), True))
                else:
                    out.append(template_view(templates.built_in(kind, language, channel), False))
    return c.TemplateList(templates=out)
