# ruff: noqa: RUF001  (zh-CN texts use full-width punctuation)
"""Message templates per notification kind, language and channel, with `{field}` placeholders.

A template may name only the fields its kind allows (`Route.fields`); anything else — a rating, pay, a field
that does not exist — is refused when the template is saved (ForbiddenField, a 400 naming the field), and
rendering passes only the allow-listed values, so a message can never show more than its route allows.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

from notifications.domain.errors import ForbiddenField, InvalidInput
from notifications.domain.routes import FORBIDDEN_FIELDS, KINDS, Route

LANGUAGES = ("zh-CN", "en")
CHANNELS = ("inbox", "email", "sms")
SMS_MAX = 300


@dataclass(frozen=True)
class Template:
    kind: str
    language: str
    channel: str
    title: str
    body: str


# kind -> language -> (title, body, sms body)
BUILT_IN: dict[str, dict[str, tuple[str, str, str]]] = {
    "goal.turned_red": {
        "zh-CN": ("目标预警：{goal_id} 变为红色", "目标 {goal_id} 于 {on} 由 {before} 变为红色，请关注进展。",
                  "【绩效】目标{goal_id}已变红，请及时跟进。"),
        "en": ("Goal {goal_id} turned red", "Goal {goal_id} turned from {before} to red on {on}.",
               "Jixiao: goal {goal_id} turned red."),
    },
    "goal.review_opened": {
        "zh-CN": ("目标复盘已开启：{goal_id}", "目标 {goal_id} 于 {opened_on} 开启复盘 {review_id}，请与上级共同完成。",
                  "【绩效】目标{goal_id}已开启复盘，请登录处理。"),
        "en": ("Review opened for goal {goal_id}", "A review ({review_id}) of goal {goal_id} opened on {opened_on}.",
               "Jixiao: a review of goal {goal_id} is open."),
    },
    "proposal.to_answer": {
        "zh-CN": ("待回复的目标调整提议", "提议 {proposal_id}（周期 {cycle_id}）等待您的回复。",
                  "【绩效】有一条目标调整提议待您回复。"),
        "en": ("A goal proposal awaits your answer", "Proposal {proposal_id} (cycle {cycle_id}) awaits your answer.",
               "Jixiao: a goal proposal awaits your answer."),
    },
    "proposal.resolved": {
        "zh-CN": ("目标调整提议已处理", "提议 {proposal_id} 的结果：{outcome}。",
                  "【绩效】目标调整提议已处理：{outcome}。"),
        "en": ("Goal proposal resolved", "Proposal {proposal_id} was {outcome}.", "Jixiao: proposal {outcome}."),
    },
    "appeal.submitted": {
        "zh-CN": ("新的申诉：{appeal_id}", "申诉 {appeal_id}（{target_kind}）已提交，请于 {due_at} 前处理。",
                  "【绩效】申诉{appeal_id}已提交，请于{due_at}前处理。"),
        "en": ("New appeal {appeal_id}", "Appeal {appeal_id} ({target_kind}) was submitted; decide by {due_at}.",
               "Jixiao: appeal {appeal_id} submitted, due {due_at}."),
    },
    "appeal.review_started": {
        "zh-CN": ("申诉处理中", "您的申诉 {appeal_id} 已进入审核。", "【绩效】您的申诉{appeal_id}已进入审核。"),
        "en": ("Your appeal is under review", "Your appeal {appeal_id} is under review.",
               "Jixiao: appeal {appeal_id} under review."),
    },
    "appeal.decided": {
        "zh-CN": ("申诉已有结果", "您的申诉 {appeal_id} 已处理，结果：{outcome}。请登录查看详情。",
                  "【绩效】您的申诉{appeal_id}已处理，请登录查看。"),
        "en": ("Your appeal was decided", "Your appeal {appeal_id} was decided: {outcome}. Sign in for details.",
               "Jixiao: appeal {appeal_id} decided. Sign in for details."),
    },
    "appeal.overdue": {
        "zh-CN": ("申诉已逾期：{appeal_id}", "申诉 {appeal_id} 已超过处理期限 {due_at}（状态：{state}）。",
                  "【绩效】申诉{appeal_id}已逾期，请尽快处理。"),
        "en": ("Appeal {appeal_id} is overdue", "Appeal {appeal_id} passed its deadline {due_at} ({state}).",
               "Jixiao: appeal {appeal_id} is overdue."),
    },
    "checkin.overdue": {
        "zh-CN": ("1对1面谈已逾期", "与 {person_id} 的 {month} 月度面谈已超过截止日 {due_by}，请尽快安排。",
                  "【绩效】{month}月度面谈已逾期，请尽快安排。"),
        "en": ("Check-in overdue", "The {month} check-in with {person_id} passed its due date {due_by}.",
               "Jixiao: the {month} check-in is overdue."),
    },
    "activity.zero": {
        "zh-CN": ("零活动提醒", "{person_id} 已连续 {weeks} 周没有有效活动（{detected_on} 检出）。",
                  "【绩效】团队成员连续{weeks}周零活动，请关注。"),
        "en": ("Zero activity", "{person_id} has had no valid activity for {weeks} weeks (seen {detected_on}).",
               "Jixiao: a team member has had zero activity for {weeks} weeks."),
    },
    "result.available": {
        "zh-CN": ("绩效结果已出", "您在 {review_cycle_id} 的绩效结果已确定，请登录查看。",
                  "【绩效】您的绩效结果已出，请登录查看。"),
        "en": ("Your result is available", "Your {review_cycle_id} result is final. Sign in to see it.",
               "Jixiao: your result is available. Sign in to see it."),
    },
    "nomination.decided": {
        "zh-CN": ("晋升评审已有结论", "您的晋升提名 {nomination_id}（{target_level}）已有结论，请登录查看。",
                  "【绩效】您的晋升评审已有结论，请登录查看。"),
        "en": ("Promotion review decided", "The review of your nomination {nomination_id} ({target_level}) is "
                                           "decided. Sign in to see it.",
               "Jixiao: your promotion review is decided. Sign in to see it."),
    },
    "approval.waiting": {
        "zh-CN": ("待您审批", "奖金方案 {proposal_id}（奖金池 {pool_code}）等待您审批，请登录查看。",
                  "【绩效】有一项奖金方案待您审批，请登录查看。"),
        "en": ("Approval waiting",
               "Bonus proposal {proposal_id} ({pool_code}) awaits your approval. Sign in to see it.",
               "Jixiao: a bonus proposal awaits your approval."),
    },
    "redemption.decided": {
        "zh-CN": ("兑换已完成", "您兑换的 {reward_code} ×{quantity} 已处理（{redemption_id}）。",
                  "【绩效】您的积分兑换已处理。"),
        "en": ("Redemption done", "Your redemption of {reward_code} x{quantity} went through ({redemption_id}).",
               "Jixiao: your redemption went through."),
    },
    "redemption.refunded": {
        "zh-CN": ("兑换已退回", "兑换 {redemption_id}（{reward_code}）已退回，积分已返还。",
                  "【绩效】您的兑换已退回。"),
        "en": ("Redemption refunded", "Redemption {redemption_id} ({reward_code}) was refunded.",
               "Jixiao: your redemption was refunded."),
    },
    "dsr.incomplete": {
        "zh-CN": ("个人信息请求未完成", "数据主体请求 {request_id}（{kind}）未能完成，请处理。",
                  "【绩效】数据主体请求{request_id}未完成。"),
        "en": ("Data-subject request incomplete", "Data-subject request {request_id} ({kind}) is incomplete.",
               "Jixiao: data-subject request {request_id} incomplete."),
    },
}


def placeholders(text: str, field: str) -> list[str]:
    """The `{name}` placeholders of a template text; plain names only (no attributes, indexes, conversions or
    format specs: a template is text with holes, not code)."""
    names = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise InvalidInput(field, f"not a template: {exc}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise InvalidInput(field, f"placeholder {{{name}}} must be a plain field name")
        names.append(name)
    return names


def route_of(kind: str) -> Route:
    route = KINDS.get(kind)
    if route is None:
        raise InvalidInput("kind", f"unknown notification kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    return route


def check_template(template: Template) -> Template:
    """A template that may be saved, or InvalidInput / ForbiddenField naming the field and placeholder."""
    route = route_of(template.kind)
    if template.language not in LANGUAGES:
        raise InvalidInput("language", f"one of {', '.join(LANGUAGES)}")
    if template.channel not in CHANNELS:
        raise InvalidInput("channel", f"one of {', '.join(CHANNELS)}")
    for field, text in (("title", template.title), ("body", template.body)):
        for name in placeholders(text, field):
            if name in FORBIDDEN_FIELDS:
                raise ForbiddenField(field, f"{{{name}}} may never appear in a message (ratings, pay, free text)")
            if name not in route.fields:
                raise ForbiddenField(field, f"{{{name}}} is not among the fields {template.kind} may show: "
                                            f"{', '.join(route.fields)}")
    if template.channel == "sms" and len(template.body) > SMS_MAX:
        raise InvalidInput("body", f"an SMS template has at most {SMS_MAX} characters")
    return template


def built_in(kind: str, language: str, channel: str) -> Template:
    texts = BUILT_IN[kind].get(language) or BUILT_IN[kind]["en"]
    title, body, sms = texts
    return Template(kind, language, channel, title, sms if channel == "sms" else body)


def render(template: Template, values: dict[str, str]) -> tuple[str, str]:
    """(title, body) with the allow-listed values filled in; a placeholder off the allow-list renders empty."""
    allowed = set(route_of(template.kind).fields) - FORBIDDEN_FIELDS
    safe = {name: values.get(name, "") for name in allowed}

    def fill(text: str) -> str:
        out = []
        for literal, name, _, _ in string.Formatter().parse(text):
            out.append(literal)
            if name is not None:
                out.append(safe.get(name, ""))
        return "".join(out)

    return fill(template.title), fill(template.body)
