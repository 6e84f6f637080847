"""The incentives service: a thin nameko adapter over its use cases."""
from chassis import Database, Service


class IncentivesService(Service):
    name = "incentives"
    uow = Database()
