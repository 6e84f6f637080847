"""Anonymous 360 light feedback: answers count only in aggregate and only once at least `threshold` (never
below 3) have answered; the reviewer is known to the service only as a keyed pseudonym (HMAC) per request."""
from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from feedback.domain.errors import InvalidInput, NotAllowed

MIN_THRESHOLD = 3


def threshold(requested: int | None, default: int) -> int:
    """Never below 3, whatever the request or the setting says."""
    return max(MIN_THRESHOLD, requested if requested is not None else default)


def check_reviewers(subject: str, reviewers: Sequence[str], needed: int) -> list[str]:
    unique = list(dict.fromkeys(reviewers))
    if subject in unique:
        raise InvalidInput("reviewer_ids", "the subject does not review themself")
    if len(unique) < needed:
        raise InvalidInput("reviewer_ids", f"invite at least {needed} people (the threshold)")
    return unique


def pseudonym(key: str, request_id: str, reviewer: str) -> str:
    """Stable per (request, reviewer), unlinkable across requests and irreversible without the key."""
    return hmac.new(key.encode(), f"{request_id}\x00{reviewer}".encode(), hashlib.sha256).hexdigest()[:32]


def check_scores(scores: Mapping[str, int], scale: Mapping[str, int]) -> None:
    for code, value in scores.items():
        if code not in scale:
            raise InvalidInput(f"scores.{code}", "not a question of this questionnaire")
        if not 1 <= value <= scale[code]:
            raise InvalidInput(f"scores.{code}", f"a score from 1 to {scale[code]}")
    missing = set(scale) - set(scores)
    if missing:
        raise InvalidInput(f"scores.{sorted(missing)[0]}", "every question needs an answer")


def check_can_answer(state: str, invited: bool, answered: bool) -> None:
    if state != "open":
        raise NotAllowed("the request is closed", field="request_id")
    if not invited:
        raise NotAllowed("you were not invited to answer this request", field="actor")
    if answered:
        raise InvalidInput("request_id", "you have already answered this request")


def released(answered: int, needed: int) -> bool:
    return answered >= max(MIN_THRESHOLD, needed)


def aggregate(answers: Sequence[Mapping[str, int]], codes: Sequence[str]) -> dict[str, tuple[Decimal, int]]:
    out = {}
    for code in codes:
        values = [a[code] for a in answers if code in a]
        if values:
            out[code] = ((Decimal(sum(values)) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_EVEN),
                         len(values))
    return out


def shuffled(comments: Sequence[str], seed: str) -> list[str]:
    """Comments in an order that tells nothing about who answered when."""
    out = [c for c in comments if c]
    random.Random(seed).shuffle(out)
    return out
