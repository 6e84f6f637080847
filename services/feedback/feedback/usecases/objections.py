"""Objection tags with the playbook's suggested responses (the playbook is editable by admins/HR)."""
from __future__ import annotations

from contracts import feedback as c
from contracts.actor import Actor
from feedback import access
from feedback import models as m
from feedback.objections import DEFAULT_PLAYBOOK, TAGS, default_tagger
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases.common import require, subject_of


def tag_notes(uow: Uow, actor: Actor | None, command: c.TagNotes) -> c.TagNotesView:
    with uow:
        require(uow, actor, "feedback.activity.write", access.of(access.ACTIVITY, subject_of(actor)), "actor")
        tags = default_tagger().tag(command.text)
        saved = {row.tag: row.responses for row in uow.session.query(m.PlaybookEntry).all()}
        return c.TagNotesView(tags=[c.ObjectionTagView(tag=t.tag, score=t.score,
                                                       responses=saved.get(t.tag, DEFAULT_PLAYBOOK.get(t.tag, [])))
                                    for t in tags])


def save_playbook(uow: Uow, actor: Actor | None, command: c.SavePlaybook) -> c.SavePlaybook:
    from feedback.domain.errors import InvalidInput

    with uow:
        require(uow, actor, "feedback.company.manage", access.company(), "actor")
        if command.tag not in TAGS:
            raise InvalidInput("tag", f"one of {', '.join(TAGS)}")
        row = uow.repo.get(m.PlaybookEntry, command.tag, lock=True)
        if row is None:
            row = m.PlaybookEntry(tag=command.tag, version=0)
            uow.repo.add(row)
        row.responses, row.updated_by = list(command.responses), subject_of(actor)
        row.version += 1
        return command
