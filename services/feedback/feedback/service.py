"""The feedback service: a thin nameko adapter over its use cases."""
from chassis import Database, Service


class FeedbackService(Service):
    name = "feedback"
    uow = Database()
