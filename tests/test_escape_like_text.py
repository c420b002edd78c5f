"""Text LibreOffice would read as an escaped character never reaches a cell.

LibreOffice reads ``_x5_`` .. ``_x0041_`` in cell text as an escaped
character (``palmyra_x5_v1`` comes back as ``palmyra\\x05v1``), which broke the
rankings of the full LiteLLM workbook. Ids and labels holding such text are
refused; the LiteLLM importer makes ids without it.
"""

from __future__ import annotations

import pytest

from generator.errors import InputError
from generator.litellm import _slug
from generator.pricebook import load_book_text

BOOK = """\
format: 1
pricebook: {{name: t, price_date: 2026-02-21}}
providers:
  - {{id: {id}, label: "{label}", model: m, pricing: per_token, input_rate: 1,
     output_rate: 2, quality_tier: 3, source: https://example.com/,
     checked: 2026-02-21}}
scenarios:
  - {{id: s, label: S, base_tokens: 1000000, input_share: 0.5}}
"""


@pytest.mark.parametrize("pid", ["palmyra_x5_v1", "a_x0041_b", "a_xbeef_b"])
def test_escape_like_ids_are_refused(pid):
    """An id holding _x<hex>_ is refused with the field and a way out."""
    with pytest.raises(InputError) as error:
        load_book_text(BOOK.format(id=pid, label="ok"), "book.yaml")
    message = str(error.value)
    assert message.startswith("book.yaml:4:")
    assert "providers[0].id" in message and "LibreOffice" in message


@pytest.mark.parametrize("label", ["Palmyra _x5_ v1", "a_x0041_b"])
def test_escape_like_labels_are_refused(label):
    """A label holding _x<hex>_ is refused."""
    with pytest.raises(InputError) as error:
        load_book_text(BOOK.format(id="ok", label=label), "book.yaml")
    assert "providers[0].label" in str(error.value)


def test_ids_without_escape_like_text_pass():
    """Near misses stay valid: no hex digits, or no closing underscore."""
    for pid in ("palmyra_x_5_v1", "box_xyz_q", "max5"):
        load_book_text(BOOK.format(id=pid, label="ok"), "book.yaml")


def test_litellm_ids_avoid_escape_like_text():
    """The importer writes palmyra-x5-v1 as palmyra_x_5_v1."""
    assert _slug("us.writer.palmyra-x5-v1:0") == "us_writer_palmyra_x_5_v1_0"


def test_a_workbook_given_as_a_pricebook_says_what_it_is(tmp_path):
    """`show WORKBOOK` names the commands that read workbooks, not UTF-8."""
    from generator.pricebook import load_book

    path = tmp_path / "book.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(InputError) as error:
        load_book([path])
    assert "not a YAML pricebook" in str(error.value)
    assert "assumptions" in str(error.value)
