# ruff: noqa: RUF001  (zh-CN texts use full-width punctuation)
"""What a message may show: templates checked against their kind's allow-list, rendered from it only."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.domain.errors import ForbiddenField, InvalidInput
from notifications.domain.templates import Template, check_template, placeholders, render


def test_a_template_naming_a_rating_or_pay_or_an_unknown_field_is_refused_naming_the_field():
    for body in ("New rating {rating}", "Bonus {bonus}", "{reason}", "{unknown_field}"):
        with pytest.raises(ForbiddenField) as refused:
            check_template(Template("appeal.decided", "en", "sms", "Appeal", body))
        assert refused.value.field == "body"
    with pytest.raises(ForbiddenField) as refused:
        check_template(Template("appeal.decided", "en", "email", "{amendment}", "ok"))
    assert refused.value.field == "title"


def test_placeholders_are_plain_names_only():
    for text in ("{appeal_id.__class__}", "{appeal_id[0]}", "{appeal_id!r}", "{appeal_id:>99999}", "{", "}"):
        with pytest.raises(InvalidInput):
            placeholders(text, "body")
    assert placeholders("{appeal_id} and {{literal}}", "body") == ["appeal_id"]


def test_an_unknown_kind_and_a_long_sms_are_refused():
    with pytest.raises(InvalidInput) as refused:
        check_template(Template("salary.changed", "en", "sms", "x", "y"))
    assert refused.value.field == "kind"
    with pytest.raises(InvalidInput) as refused:
        check_template(Template("appeal.decided", "en", "sms", "x", "y" * 301))
    assert refused.value.field == "body"


def test_render_fills_allowed_fields():
    title, body = render(Template("appeal.decided", "zh-CN", "inbox", "申诉 {appeal_id}", "结果：{outcome}"),
                         {"appeal_id": "ap-1", "outcome": "upheld"})
    assert (title, body) == ("申诉 ap-1", "结果：upheld")


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60),
       st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=20)))
def test_rendering_never_shows_a_value_outside_the_allow_list(text, values):
    secret = "SECRET-PAY-12345"
    values = {**values, "bonus": secret, "rating": secret, "reason": secret}
    template = Template("appeal.decided", "en", "email", "t", text.replace(secret, ""))
    try:
        _, body = render(template, values)
    except ValueError:
        return  # unbalanced braces: check_template refuses such a text before it is ever saved
    assert secret not in body
