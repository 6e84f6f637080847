"""The compliance service: a thin nameko adapter over its use cases."""
from chassis import Database, Service


class ComplianceService(Service):
    name = "compliance"
    uow = Database()
