"""Business gauges on goals' /metrics, read from the read models (goals/readmodels.py: a few small sums, cached by
the chassis collector for a couple of seconds): the goals of the running cycles by colour, and open reviews."""
from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.orm import Session

from chassis import Database
from chassis.metrics import metrics_of
from goals import readmodels


def read_gauges(engine, service: str) -> list[GaugeMetricFamily]:
    with Session(engine) as session:
        colours = readmodels.by_colour(session)
        reviews = readmodels.open_reviews(session)
    by_colour = GaugeMetricFamily("jixiao_goals_by_colour", "Goals of the running (open or locked) cycles by colour",
                                  labels=["service", "colour"])
    for colour, count in sorted(colours.items()):
        by_colour.add_metric([service, colour], float(count))
    open_reviews = GaugeMetricFamily("jixiao_goal_reviews_open", "Open reviews (复盘) of red goals",
                                     labels=["service"])
    open_reviews.add_metric([service], float(reviews))
    return [by_colour, open_reviews]


class GoalsDatabase(Database):
    """The chassis' Database, registering the business gauges once its engine exists."""

    def setup(self):
        super().setup()
        engine, service = self.store.engine, self.container.service_name
        metrics_of(self.container).add_collector(lambda: read_gauges(engine, service))
