from hypothesis import settings

# No example database: it would write .hypothesis/ into the work tree. No deadline: timing on a
# loaded CI machine must not fail a property.
settings.register_profile("unit", database=None, deadline=None)
settings.load_profile("unit")
