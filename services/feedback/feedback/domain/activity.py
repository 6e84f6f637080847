"""Sales activity with double verification (移动打卡 + 商机录入): a visit is a *valid lead* only with a location
check-in near the customer's registered location AND an opportunity entry within a window of the visit.
Zero activity (零活动): no valid visit for N full weeks."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from feedback.domain.errors import InvalidInput

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock a little ahead is not "the future"


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def check_visit_time(visited_at: datetime, now: datetime) -> None:
    if visited_at > now + CLOCK_SKEW:
        raise InvalidInput("visited_at", "a visit cannot be in the future")


@dataclass(frozen=True)
class Verification:
    valid: bool
    distance_m: Decimal | None
    reasons: tuple[str, ...]


def verify(*, check_in: tuple[float, float, float] | None, customer: tuple[float, float],
           opportunity_at: datetime | None, visited_at: datetime, radius_m: float, max_accuracy_m: float,
           window: timedelta) -> Verification:
    """Both proofs or nothing. `check_in` is (lat, lon, accuracy m); `opportunity_at` when the linked
    opportunity was entered or last moved."""
    reasons = []
    distance = None
    if check_in is None:
        reasons.append("no location check-in")
    else:
        lat, lon, accuracy = check_in
        distance = Decimal(str(round(distance_m(lat, lon, *customer), 1)))
        if accuracy > max_accuracy_m:
            reasons.append(f"check-in accuracy {accuracy:g} m is worse than {max_accuracy_m:g} m")
        elif float(distance) > radius_m:
            reasons.append(f"check-in {distance} m from the customer (more than {radius_m:g} m)")
    if opportunity_at is None:
        reasons.append("no opportunity entry")
    elif abs(opportunity_at - visited_at) > window:
        reasons.append(f"opportunity entry more than {window} from the visit")
    return Verification(not reasons, distance, tuple(reasons))


def zero_activity(people: Iterable[str], last_valid: Mapping[str, date], today: date, weeks: int
                  ) -> list[tuple[str, date | None]]:
    """People with no valid visit in the last `weeks` full ISO weeks before this one (the current week is not
    over yet), with their last valid visit date (None: never)."""
    this_monday = today - timedelta(days=today.weekday())
    since = this_monday - timedelta(days=7 * weeks)
    return [(p, last_valid.get(p)) for p in people if (last_valid.get(p) or date.min) < since]
