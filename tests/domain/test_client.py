"""What a client's answers imply: sex from the pattern and the conditions."""

import pytest

from pointillist.domain.client import client_from_mapping
from pointillist.errors import PointillistError


@pytest.mark.parametrize(
    ("answers", "sex"),
    [
        ({"pattern": "ludwig-2"}, "female"),
        ({"pattern": "norwood-4"}, "male"),
        ({"pattern": "diffuse-thinning", "conditions": ["pregnancy"]}, "female"),
        ({"pattern": "ludwig-1", "sex": "other"}, "other"),
        ({"pattern": "norwood-3", "sex": "other"}, "other"),
    ],
)
def test_the_pattern_and_conditions_imply_the_sex(answers, sex):
    assert client_from_mapping(answers).sex == sex


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"pattern": "ludwig-2", "sex": "male"}, "Ludwig stages describe female-pattern loss"),
        ({"pattern": "norwood-5", "sex": "female"}, "Norwood stages describe male-pattern loss"),
        (
            {"pattern": "diffuse-thinning", "sex": "male", "conditions": ["pregnancy"]},
            "the condition pregnancy does not fit sex male",
        ),
        ({"pattern": "norwood-5", "conditions": ["pregnancy"]}, "contradict each other"),
    ],
)
def test_a_contradicting_sex_is_refused_with_a_clear_message(answers, message):
    with pytest.raises(PointillistError, match=message) as caught:
        client_from_mapping(answers)
    assert caught.value.field == "sex"
