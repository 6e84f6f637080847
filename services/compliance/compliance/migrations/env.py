from chassis.migrations import run_env
from compliance.models import Base

run_env(Base.metadata)
