"""Workflow references: typed whole-string values, text inside strings, paths, and clear errors."""

from __future__ import annotations

import pytest

from gateway.config.templates import TemplateError, parse, references, render

SCOPE = {
    "inputs": {"rows": 3, "title": "Q3"},
    "steps": {
        "sample": {"rows": [{"id": 1, "value": 2.5}, {"id": 2, "value": 4.0}]},
        "stats": {"mean": 3.25, "tags": ["a", "b"]},
        "skipped": None,
    },
}


def test_a_whole_string_reference_keeps_its_type() -> None:
    assert render("{{ steps.sample.rows[*].value }}", SCOPE) == [2.5, 4.0]
    assert render("{{inputs.rows}}", SCOPE) == 3
    assert render({"x": ["{{ steps.stats }}"]}, SCOPE) == {"x": [{"mean": 3.25, "tags": ["a", "b"]}]}


def test_references_inside_text_are_written_as_text() -> None:
    text = "{{ inputs.title }}: mean {{ steps.stats.mean }} of {{ steps.stats.tags }}, last {{ steps.sample.rows[-1].id }}"
    assert render(text, SCOPE) == 'Q3: mean 3.25 of ["a","b"], last 2'


def test_a_path_through_null_is_null() -> None:
    assert render("{{ steps.skipped.id }}", SCOPE) is None
    assert render("id {{ steps.skipped.id }}", SCOPE) == "id null"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("{{ steps.stats.median }}", "no key 'median' (found: mean, tags)"),
        ("{{ steps.sample.rows[5] }}", "no item [5] in a list of 2"),
        ("{{ steps.stats.mean[*] }}", "[*] needs a list, found float"),
        ("{{ steps.nope }}", "no step named 'nope' (known: sample, skipped, stats)"),
        ("{{ outputs.x }}", "a reference starts with inputs.NAME or steps.NAME"),
    ],
)
def test_a_bad_reference_says_what_was_there(expression: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(expression, SCOPE)
    assert message in caught.value.message


def test_references_are_found_everywhere_for_the_plan() -> None:
    value = {"a": ["{{ steps.x.y[0] }}", {"b": "n={{ inputs.n }}"}], "c": 1}
    assert sorted(references(value)) == [("inputs", "n", ()), ("steps", "x", ("y", 0))]
    assert parse("steps.s.rows[*].value") == ("steps", "s", ("rows", "*", "value"))
