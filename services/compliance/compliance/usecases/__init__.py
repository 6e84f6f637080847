"""Compliance's use cases: each opens one unit of work, decides access from the actor, applies domain rules,
saves, and records the events it causes. Grouped by capability."""
