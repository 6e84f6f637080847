from chassis.migrations import run_env
from incentives.models import Base

run_env(Base.metadata)
