"""Anonymous 360 light feedback and named praise.

The reviewer's identity reaches nothing the subject's side can read: the answer row holds a keyed pseudonym,
the answer's audit event carries that pseudonym, as data and as its envelope's actor (never the person), views
and the subject's export hold counts and aggregates only, and the close event carries aggregates only."""
from __future__ import annotations

from chassis.ids import new_id
from contracts import Actor
from contracts import feedback as c
from feedback import access
from feedback import models as m
from feedback.domain import surveys as rules
from feedback.domain.errors import InvalidInput
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases.common import active, load, missing, require, require_person, settings, subject_of, today


def save_questionnaire(uow: Uow, actor: Actor | None, command: c.SaveQuestionnaire) -> c.SaveQuestionnaire:
    with uow:
        require(uow, actor, "feedback.company.manage", access.company(), "actor")
        codes = [q.code for q in command.questions]
        if len(set(codes)) != len(codes):
            raise InvalidInput("questions", "question codes must be unique")
        row = uow.repo.get(m.Questionnaire, command.code, lock=True)
        if row is None:
            row = m.Questionnaire(code=command.code, version=0)
            uow.repo.add(row)
        row.title, row.questions = command.title, [q.model_dump() for q in command.questions]
        row.version += 1
        return command


def open_survey(uow: Uow, actor: Actor | None, command: c.OpenSurvey) -> c.SurveyView:
    with uow:
        require_person(uow, command.subject_id, "subject_id")
        require(uow, actor, "feedback.survey.open", access.of(access.SURVEY, command.subject_id), "subject_id")
        questionnaire = load(uow, m.Questionnaire, command.questionnaire_code, "questionnaire_code")
        if command.closes_on <= today(uow):
            raise InvalidInput("closes_on", "a request closes after today")
        needed = rules.threshold(command.threshold, settings(uow).survey_threshold)
        reviewers = rules.check_reviewers(command.subject_id, command.reviewer_ids, needed)
        index = uow.access.index
        for i, reviewer in enumerate(reviewers):
            if not active(index, reviewer):
                raise InvalidInput(f"reviewer_ids.{i}", f"{reviewer} is not a current member of the directory")
        row = m.Survey(id=new_id(), subject_id=command.subject_id, requested_by=subject_of(actor),
                       questionnaire_code=questionnaire.code, questions=questionnaire.questions, about=command.about,
                       goal_id=command.goal_id, threshold=needed, invited=len(reviewers), answered=0, state="open",
                       closes_on=command.closes_on, created_at=uow.now())
        uow.repo.add(row)
        uow.session.flush()
        uow.repo.add(*(m.SurveyInvitation(survey_id=row.id, reviewer_id=r, answered=False) for r in reviewers))
        uow.publish(c.SurveyOpened(request_id=row.id, subject_id=row.subject_id,
                                   questionnaire_code=row.questionnaire_code, about=row.about, goal_id=row.goal_id,
                                   invited=row.invited, threshold=needed, closes_on=row.closes_on))
        return _view(uow, row)


def answer(uow: Uow, actor: Actor | None, command: c.AnswerSurvey) -> c.Answered:
    """Record an answer under the reviewer's keyed pseudonym. Answers {"answered": true} and nothing else."""
    with uow:
        reviewer = subject_of(actor)
        row = load(uow, m.Survey, command.request_id, "request_id", lock=True)
        invitation = uow.surveys.invitation(row.id, reviewer, lock=True)
        if invitation is None:  # not asked: the subject's line reads it (an honest 403), anyone else gets a 404
            require(uow, actor, "feedback.survey.read", access.of(access.SURVEY, row.subject_id), "request_id",
                    hidden=missing(m.Survey, command.request_id))
        rules.check_can_answer(row.state, invitation is not None, invitation is not None and invitation.answered)
        assert invitation is not None  # check_can_answer refused whoever was not invited
        rules.check_scores(command.scores, {q["code"]: q["scale_max"] for q in row.questions})
        invitation.answered = True
        row.answered += 1
        alias = rules.pseudonym(settings(uow).pseudonym_key, row.id, reviewer)
        uow.repo.add(m.SurveyAnswer(survey_id=row.id, pseudonym=alias, scores=dict(command.scores),
                                    comment=command.comment))
        # the audit entry: an envelope names its actor, so this one acts as the pseudonym, not the person
        caller, uow.actor = uow.actor, Actor(subject=f"pseudonym:{alias}", kind="person")
        try:
            uow.publish(c.SurveyAnswered(request_id=row.id, reviewer_pseudonym=alias, answered=row.answered))
        finally:
            uow.actor = caller
        return c.Answered()


def close(uow: Uow, actor: Actor | None, command: c.CloseSurvey) -> c.SurveyView:
    with uow:
        row = load(uow, m.Survey, command.request_id, "request_id", lock=True)
        require(uow, actor, "feedback.survey.open", access.of(access.SURVEY, row.subject_id), "request_id",
                hidden=missing(m.Survey, command.request_id), visible_with="feedback.survey.read")
        if row.state != "open":
            raise InvalidInput("request_id", "the request is already closed")
        _close(uow, row)
        return _view(uow, row)


def _close(uow: Uow, row: m.Survey) -> None:
    row.state = "closed"
    view = _view(uow, row)
    uow.publish(c.SurveyClosed(request_id=row.id, subject_id=row.subject_id, invited=row.invited,
                               answered=row.answered, threshold=row.threshold, released=view.released,
                               averages={a.code: a.average for a in view.aggregates}))


def close_due(uow: Uow) -> int:
    """The sweep: requests past their closing day are closed."""
    with uow:
        rows = uow.surveys.due_to_close(today(uow))
        for row in rows:
            _close(uow, row)
        return len(rows)


def get(uow: Uow, actor: Actor | None, request_id: str) -> c.SurveyView:
    with uow:
        row = load(uow, m.Survey, request_id, "request_id")
        require(uow, actor, "feedback.survey.read", access.of(access.SURVEY, row.subject_id), "request_id",
                hidden=missing(m.Survey, request_id))
        return _view(uow, row)


def _view(uow: Uow, row: m.Survey) -> c.SurveyView:
    shown = rules.released(row.answered, row.threshold)
    aggregates, comments = [], []
    if shown:
        answers = uow.surveys.answers(row.id)
        stats = rules.aggregate([a.scores for a in answers], [q["code"] for q in row.questions])
        aggregates = [c.QuestionAggregate(code=q["code"], text=q["text"], scale_max=q["scale_max"],
                                          average=stats[q["code"]][0], answers=stats[q["code"]][1])
                      for q in row.questions if q["code"] in stats]
        comments = rules.shuffled([a.comment for a in answers], row.id)
    return c.SurveyView(id=row.id, subject_id=row.subject_id, about=row.about, goal_id=row.goal_id,
                        questionnaire_code=row.questionnaire_code, invited=row.invited, answered=row.answered,
                        threshold=row.threshold, state=row.state, released=shown, aggregates=aggregates,
                        comments=comments, closes_on=row.closes_on)


def give_praise(uow: Uow, actor: Actor | None, command: c.GivePraise) -> c.PraiseView:
    """Named praise: deliberately not anonymous (a separate kind from the 360)."""
    with uow:
        require_person(uow, command.person_id, "person_id")
        require(uow, actor, "feedback.praise.give", access.of(access.PRAISE, command.person_id), "person_id")
        row = m.Praise(id=new_id(), person_id=command.person_id, given_by=subject_of(actor), text=command.text,
                       goal_id=command.goal_id, given_at=uow.now())
        uow.repo.add(row)
        uow.publish(c.PraiseGiven(praise_id=row.id, person_id=row.person_id, given_by=row.given_by,
                                  goal_id=row.goal_id))
        return c.PraiseView(id=row.id, person_id=row.person_id, given_by=row.given_by, text=row.text)
