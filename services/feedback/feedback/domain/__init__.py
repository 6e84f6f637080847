"""Feedback's rules as plain Python: no database, no broker, no framework (checked by a test)."""
