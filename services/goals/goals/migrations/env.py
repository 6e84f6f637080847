from chassis.migrations import run_env
from goals.models import Base

run_env(Base.metadata)
