"""The metadata sheet: the book a workbook was built from, read back exactly.

Workbooks store it as JSON (fast to write and to read for thousands of rows);
workbooks built before that store YAML, and both must keep verifying.
"""

from __future__ import annotations

import json

import pytest
from conftest import DEFAULT_BOOK
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import document
from generator.build import build_workbook
from generator.document import book_to_document, dump_document, dump_json
from generator.errors import InputError
from generator.layout import METADATA
from generator.pricebook import load_book_text
from generator.verify import verify_workbook
from generator.xlsxread import open_workbook, sheet_cells


def metadata_text(plan) -> str:
    cells = plan.sheet(METADATA).cells
    count = int(cells[(2, 0)].value)
    return "".join(cells[(3 + i, 0)].value for i in range(count))


def test_metadata_is_json_that_loads_back_as_the_book(default_book, default_plan):
    text = metadata_text(default_plan)
    assert text.startswith("{")
    assert json.loads(text)["providers"][0]["id"] == default_book.providers[0].id
    loaded = load_book_text(text, "metadata")
    assert book_to_document(loaded) == book_to_document(default_book)


#: Text a pricebook may hold that JSON and YAML quote differently.
ODD_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="\u202a\u202b"
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    note=ODD_TEXT,
    rate=st.floats(min_value=1e-9, max_value=1e3, allow_nan=False),
    fixed=st.integers(min_value=0, max_value=10**12),
)
def test_json_and_yaml_documents_load_the_same(default_book, note, rate, fixed):
    """Any note, rate and whole fixed fee: the JSON document loads to the same
    book as the YAML one, to the last bit of every float."""
    doc = book_to_document(default_book)
    row = doc["providers"][0]
    row["input_rate"] = rate
    row["note"] = "n " + note.replace("\u202c", "")
    fixed_row = next(r for r in doc["providers"] if r["pricing"] == "fixed")
    fixed_row["fixed_monthly"] = fixed
    try:
        from_yaml = load_book_text(dump_document(doc), "yaml")
    except InputError:
        # A note the loader refuses is refused the same way from JSON.
        with pytest.raises(InputError):
            load_book_text(dump_json(doc), "json")
        return
    from_json = load_book_text(dump_json(doc), "json")
    assert book_to_document(from_json) == book_to_document(from_yaml)
    # As a cell holds it: 16 significant digits (see pricebook.number).
    assert from_json.providers[0].input_rate == float(f"{rate:.16g}")


def test_a_field_given_twice_in_json_is_refused():
    with pytest.raises(InputError, match="field 'name' is given twice"):
        load_book_text('{"format": 1, "name": "a", "name": "b"}', "metadata")


def test_text_that_only_starts_like_json_is_read_as_yaml():
    """'{' opens a YAML flow mapping too: what is not JSON gets YAML's message."""
    with pytest.raises(InputError, match="invalid YAML") as caught:
        load_book_text("{format: 1, providers: [", "book.yaml")
    assert caught.value.field == "providers[0]"


def test_workbook_with_yaml_metadata_still_verifies(tmp_path, monkeypatch):
    """A workbook built before the metadata became JSON holds YAML there."""
    monkeypatch.setattr(document, "dump_json", dump_document)
    path = tmp_path / "yaml-metadata.xlsx"
    build_workbook([DEFAULT_BOOK], path)
    workbook = open_workbook(path)
    try:
        meta = sheet_cells(workbook, METADATA)
    finally:
        workbook.close()
    assert meta[(3, 0)].startswith("format:")
    result = verify_workbook(path, engine="cached")
    assert result.ok, [f.message for f in result.findings]
    assert result.formulas > 2000


def test_a_json_integer_too_long_to_read_is_an_input_error():
    """Python refuses to read an integer of more than 4,300 digits: one line."""
    with pytest.raises(InputError, match="cannot read a number"):
        load_book_text('{"format": 1' + "0" * 5000 + "}", "metadata")


def test_cut_off_json_metadata_is_reported_as_json(default_book):
    """Metadata cut short (a sheet edited by hand, a broken copy) is JSON
    that ends early: the error says so, with the line and column."""
    text = document.dump_json(document.book_to_document(default_book))
    with pytest.raises(InputError, match="invalid JSON: ") as caught:
        load_book_text(text[: len(text) // 2], "metadata")
    assert caught.value.line is not None and caught.value.column is not None


def test_nan_in_json_metadata_is_not_a_number():
    """Python's json reads NaN and Infinity; JSON has neither."""
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(
            InputError, match=f"expected a finite number, got {constant}"
        ):
            load_book_text('{"format": 1, "x": ' + constant + "}", "metadata")


def test_a_json_message_ending_in_at_says_here():
    with pytest.raises(InputError) as caught:
        load_book_text('{"format": "cut', "metadata")
    assert str(caught.value) == (
        "metadata:1:12: invalid JSON: Unterminated string starting here"
    )
