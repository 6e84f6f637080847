"""The notifications use cases, one module per area (each takes the unit of work and the actor)."""
