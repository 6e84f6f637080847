# ruff: noqa: RUF001  (zh-CN texts use full-width punctuation)
"""When and how a notification goes out: channels by priority and preference, quiet hours, the daily digest
and the per-person rate limit. The inbox always gets it at once; email and SMS follow these rules."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifications.domain.errors import InvalidInput


@dataclass(frozen=True)
class Preferences:
    language: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    email: str | None = None
    phone: str | None = None
    channels: tuple[str, ...] = ("email",)
    quiet_start: time | None = None
    quiet_end: time | None = None
    digest_hour: int = 9


@dataclass(frozen=True)
class Planned:
    channel: str  # email | sms
    mode: str  # now | digest | skip
    due_at: datetime
    reason: str = ""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("timezone", f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)") from None


def parse_hhmm(text: str, field: str) -> time:
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidInput(field, "HH:MM") from None


def in_quiet_hours(at: datetime, prefs: Preferences) -> bool:
    if prefs.quiet_start is None or prefs.quiet_end is None or prefs.quiet_start == prefs.quiet_end:
        return False
    local = at.astimezone(zone(prefs.timezone)).time()
    start, end = prefs.quiet_start, prefs.quiet_end
    if start < end:
        return start <= local < end
    return local >= start or local < end  # spans midnight


def after_quiet_hours(at: datetime, prefs: Preferences) -> datetime:
    """`at` itself when outside quiet hours, else the moment they end (UTC)."""
    if not in_quiet_hours(at, prefs) or prefs.quiet_end is None:
        return at
    tz = zone(prefs.timezone)
    local = at.astimezone(tz)
    end = datetime.combine(local.date(), prefs.quiet_end, tzinfo=tz)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), prefs.quiet_end, tzinfo=tz)
    return end.astimezone(UTC)


def next_digest(at: datetime, prefs: Preferences) -> datetime:
    """The next daily digest after `at`: the person's digest hour (local), moved past their quiet hours."""
    tz = zone(prefs.timezone)
    local = at.astimezone(tz)
    slot = datetime.combine(local.date(), time(prefs.digest_hour), tzinfo=tz)
    if slot <= local:
        slot = datetime.combine(local.date() + timedelta(days=1), time(prefs.digest_hour), tzinfo=tz)
    return after_quiet_hours(slot.astimezone(UTC), prefs)


def plan(priority: str, prefs: Preferences, now: datetime, sent_last_hour: Mapping[str, int],
         limits: Mapping[str, int], available: Mapping[str, bool]) -> list[Planned]:
    """Email and SMS for one notification. High: email and SMS; normal: email; low: the email digest. Over the
    hourly limit, an email joins the digest and an SMS is skipped (the inbox has it). Quiet hours defer both."""
    out: list[Planned] = []
    if prefs.email and "email" in prefs.channels:
        if not available.get("email", False):
            out.append(Planned("email", "skip", now, "no mail server configured"))
        elif priority == "low":
            out.append(Planned("email", "digest", next_digest(now, prefs), "low priority"))
        elif sent_last_hour.get("email", 0) >= limits.get("email", 0):
            out.append(Planned("email", "digest", next_digest(now, prefs), "rate limit"))
        else:
            out.append(Planned("email", "now", after_quiet_hours(now, prefs)))
    if priority == "high" and prefs.phone and "sms" in prefs.channels:
        if not available.get("sms", False):
            out.append(Planned("sms", "skip", now, "no SMS provider configured"))
        elif sent_last_hour.get("sms", 0) >= limits.get("sms", 0):
            out.append(Planned("sms", "skip", now, "rate limit"))
        else:
            out.append(Planned("sms", "now", after_quiet_hours(now, prefs)))
    return out


DIGEST_TITLE = {"zh-CN": "绩效通知摘要（{n} 条）", "en": "Jixiao digest ({n} notifications)"}


def digest(language: str, items: list[tuple[str, str]]) -> tuple[str, str]:
    """One email for many low-priority notifications: (title, body) from their (title, body) pairs."""
    title = DIGEST_TITLE.get(language, DIGEST_TITLE["en"]).format(n=len(items))
    body = "\n\n".join(f"• {item_title}\n  {item_body}" for item_title, item_body in items)
    return title, body
