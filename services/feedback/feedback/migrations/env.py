from chassis.migrations import run_env
from feedback.models import Base

run_env(Base.metadata)
