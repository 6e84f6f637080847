"""The goals domain: plain Python rules with no database, broker or framework.

cycles      cycle periods and states, which changes each state allows
tree        the goal tree across owners: ancestry, re-parenting checks, progress roll-up
progress    key-result and objective progress, KPI attainment, progress updates
status      red/yellow/green from schedules (and the SQL sweep terms), KPI bands
goal        the Goal value object, its progress and colour
weights     a person's goal weights total exactly 100.00
negotiation two-way proposals between owner and manager, append-only threads
commitments promised/delivered/missed resources
allocation  splitting a parent target among children exactly
templates   indicator library, job-family templates, instantiation and scoring
presets     loading the industry presets shipped in goals/presets
formula     the safe formula language and formula versions
board       per-group aggregates of the goal board
errors      the domain error hierarchy
decimals    exact-number helpers
"""
