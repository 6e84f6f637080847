"""Feedback's use cases, one module per area. Each takes (uow, actor, command) and returns a contract view."""
