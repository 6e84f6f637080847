"""views.trusted builds exactly the model that validation would, from values the service made itself."""
from contracts import incentives as c
from incentives.views import trusted


def test_a_trusted_model_equals_the_validated_one():
    values = {"person_id": "p1", "rating_label": "A", "potential": "high", "movement": "up",
              "decisions": ["promotion_nomination", "idp"]}
    made = trusted(c.NineBoxPerson, dict(values))
    checked = c.NineBoxPerson.model_validate(values)
    assert made == checked and made.model_dump(mode="json") == checked.model_dump(mode="json")
    assert made.model_fields_set == checked.model_fields_set
    # inside a view that is validated, a trusted person is taken as it is
    cell = c.NineBoxCell(code="star", name="Star", zh="明星", performance="high", potential="high", people=[made])
    assert cell.people[0] is made or cell.people[0] == made
