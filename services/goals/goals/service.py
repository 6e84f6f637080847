"""The goals service: a thin nameko adapter over its use cases."""
from chassis import Database, Service


class GoalsService(Service):
    name = "goals"
    uow = Database()
