"""The answer models (app/api/answers.py): every example a model carries is a valid answer of
that model, and a model refuses a field it does not know (an answer that drifts fails loudly)."""

from __future__ import annotations

import inspect

import pytest
from pydantic import ValidationError

from app.api import answers

MODELS = [
    model
    for model in vars(answers).values()
    if inspect.isclass(model) and issubclass(model, answers.Answer) and model is not answers.Answer
]
WITH_EXAMPLES = [m for m in MODELS if m.model_json_schema().get("examples")]


def test_every_top_level_answer_has_an_example():
    assert len(WITH_EXAMPLES) >= 18


@pytest.mark.parametrize("model", WITH_EXAMPLES, ids=lambda m: m.__name__)
def test_each_example_is_a_valid_answer_of_its_model(model):
    for example in model.model_json_schema()["examples"]:
        assert answers.shaped(model, example) == example


@pytest.mark.parametrize("model", WITH_EXAMPLES, ids=lambda m: m.__name__)
def test_a_field_the_model_does_not_know_is_refused(model):
    example = model.model_json_schema()["examples"][0]

    with pytest.raises(ValidationError):
        answers.shaped(model, {**example, "surprise": 1})
