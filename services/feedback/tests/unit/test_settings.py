from decimal import Decimal

import pytest

from chassis.settings import load_settings
from feedback.settings import load_feedback_settings


def test_feedback_settings_extend_the_chassis_settings_config_first_then_env():
    base = load_settings("feedback", {"DATABASE_URL": "sqlite:///x.db"})
    found = load_feedback_settings({"FEEDBACK_ZERO_ACTIVITY_WEEKS": "4"}, base,
                                   environ={"FEEDBACK_ZERO_ACTIVITY_WEEKS": "9", "FEEDBACK_VISIT_RADIUS_M": "300"})
    assert found.zero_activity_weeks == 4 and found.visit_radius_m == Decimal(300)
    assert found.database_url == "sqlite:///x.db" and found.service_name == "feedback"
    assert load_feedback_settings({}, base, environ={}).survey_threshold == 3


def test_the_360_threshold_setting_is_never_below_three():
    with pytest.raises(SystemExit) as error:
        load_feedback_settings({"FEEDBACK_SURVEY_THRESHOLD": "2"}, environ={})
    assert "survey_threshold" in str(error.value)
