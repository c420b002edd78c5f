"""Bad pricebooks: one line naming file, line and field, exit 2, nothing written.

Every case starts from ``GOOD`` (which builds) and breaks one thing. The test
asserts the exit status, the shape of the message
(``file:line[:column]: field: problem``), what it says, and that the output
file is neither created nor, when one exists, changed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from workbook_tools import named_values

from generator.cli import main
from generator.yamlsource import MAX_ALIAS_VALUES, MAX_BYTES, MAX_DEPTH

GOOD = """\
format: 1
pricebook:
  name: Test book
  price_date: 2026-02-21
providers:
  - id: cheap
    label: Cheap
    model: m1
    pricing: per_token
    input_rate: 0.1
    output_rate: 0.3
    quality_tier: 4
    sla: 0.999
    latency_ms: 400
    source: https://example.com/cheap
    checked: 2026-02-21
  - id: box
    label: Box
    model: m2
    pricing: fixed
    input_rate: 0
    output_rate: 0
    fixed_monthly: 200
    quality_tier: 4
    source: https://example.com/box
    checked: 2026-02-21
breakeven_pairs:
  - [box, cheap]
scenarios:
  - id: standard
    label: Standard
    base_tokens: 100000000
    input_share: 0.75
    cache_hit_rate: 0.15
    min_quality_tier: 3
  - id: agent
    label: Agent
    base_tokens: 1600000000
    input_share: 0.35
    cache_hit_rate: 0.05
    min_quality_tier: 4
    growth_rate: 0.05
forecast:
  months: 6
"""


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line of GOOD holding ``needle``."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


@dataclass
class Case:
    """A broken pricebook and what its message must say."""

    id: str
    content: bytes
    line: int
    field: str | None  # None: the problem is the file as a whole
    says: tuple[str, ...]
    never: tuple[str, ...] = ()  # what the message must not say


def replaced(old: str, new: str, count: int = 1) -> bytes:
    assert GOOD.count(old) >= count, old
    return GOOD.replace(old, new, count).encode("utf-8")


def after(needle: str, extra: str) -> bytes:
    """GOOD with ``extra`` lines inserted after the line holding ``needle``."""
    lines = GOOD.splitlines(keepends=True)
    at = line_of(GOOD, needle)
    return "".join(lines[:at] + [extra] + lines[at:]).encode("utf-8")


def bomb() -> str:
    rows = ["    x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n"]
    for i in range(1, 6):
        rows.append(f"    x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]\n")
    return "".join(rows)


#: GOOD with its first provider given again through an alias (``*row``).
ALIASED = GOOD.replace("  - id: cheap\n", "  - &row\n    id: cheap\n", 1).replace(
    "breakeven_pairs:\n", "  - *row\nbreakeven_pairs:\n", 1
)

L = line_of
CASES = [
    # -- invalid YAML -------------------------------------------------------
    Case(
        "yaml-bad-indent",
        replaced("    model: m1", "     model: m1"),
        L(GOOD, "model: m1"),
        "providers[0]",
        ("invalid YAML", "mapping values are not allowed"),
    ),
    Case(
        "yaml-tab-indent",
        replaced("    model: m1", "\tmodel: m1"),
        L(GOOD, "model: m1"),
        "providers[0].label",
        ("invalid YAML", "tab"),
    ),
    Case(
        "yaml-unclosed-list",
        replaced("  - [box, cheap]", "  - [box, cheap"),
        L(GOOD, "scenarios:"),
        "breakeven_pairs[0][2]",
        ("invalid YAML", "expected ',' or ']'"),
    ),
    Case(
        "yaml-unclosed-quote",
        replaced("label: Cheap", 'label: "Cheap'),
        L(GOOD, "label: Cheap"),
        "providers[0].label",
        ("invalid YAML", "end of stream"),
    ),
    Case(
        "yaml-raw-control-character",
        replaced("label: Cheap", "label: Ch\x07eap"),
        L(GOOD, "label: Cheap"),
        "providers[0].label",
        ("control character U+0007",),
    ),
    Case(
        "yaml-two-documents",
        (GOOD + "---\nformat: 1\n").encode(),
        len(GOOD.splitlines()) + 1,
        None,
        ("more than one YAML document",),
    ),
    Case(
        "yaml-python-tag",
        replaced("label: Cheap", 'label: !!python/object/apply:os.system ["true"]'),
        L(GOOD, "label: Cheap"),
        "providers[0].label",
        ("unsupported YAML tag",),
    ),
    Case(
        "yaml-merge-key",
        after("source: https://example.com/box", "    <<: {note: shared}\n"),
        L(GOOD, "source: https://example.com/box") + 1,
        "providers[1]",
        ("merge keys ('<<') are not supported",),
    ),
    # -- duplicated keys --------------------------------------------------------
    Case(
        "duplicate-key",
        after("input_rate: 0.1", "    input_rate: 0.2\n"),
        L(GOOD, "input_rate: 0.1") + 1,
        "providers[0].input_rate",
        (
            "duplicated key 'input_rate'",
            f"line {L(GOOD, 'input_rate: 0.1')}",
            f"line {L(GOOD, 'input_rate: 0.1') + 1}",
        ),
    ),
    Case(
        "duplicate-section",
        (GOOD + "forecast:\n  months: 12\n").encode(),
        len(GOOD.splitlines()) + 1,
        "forecast",
        ("duplicated key 'forecast'", f"line {L(GOOD, 'forecast:')}"),
    ),
    # -- YAML 1.1 surprises -------------------------------------------------------
    Case(
        "yes-as-number",
        replaced("quality_tier: 4", "quality_tier: yes"),
        L(GOOD, "quality_tier: 4"),
        "providers[0].quality_tier",
        ("YAML 1.1 reads yes as true",),
    ),
    Case(
        "true-as-number",
        replaced("quality_tier: 4", "quality_tier: true"),
        L(GOOD, "quality_tier: 4"),
        "providers[0].quality_tier",
        ("got true (a yes/no value; write a number)",),
        ("reads true as true",),
    ),
    Case(
        "octal",
        replaced("base_tokens: 100000000", "base_tokens: 0100000000"),
        L(GOOD, "base_tokens: 100000000"),
        "scenarios[0].base_tokens",
        ("'0100000000'", "octal"),
    ),
    Case(
        "leading-zero-not-octal",
        replaced("latency_ms: 400", "latency_ms: 0900"),
        L(GOOD, "latency_ms: 400"),
        "providers[0].latency_ms",
        ("'0900'", "leading zero"),
    ),
    Case(
        "leading-zero-9-is-text-not-octal",
        replaced("input_rate: 0.1", "input_rate: 09"),
        L(GOOD, "input_rate: 0.1"),
        "providers[0].input_rate",
        ("'09'", "09 is no octal number, so YAML reads it as text"),
        ("octal number 9",),
    ),
    Case(
        "base-60",
        replaced("latency_ms: 400", "latency_ms: 6:40"),
        L(GOOD, "latency_ms: 400"),
        "providers[0].latency_ms",
        ("base-60", "400"),
    ),
    Case(
        "hexadecimal",
        replaced("fixed_monthly: 200", "fixed_monthly: 0xC8"),
        L(GOOD, "fixed_monthly: 200"),
        "providers[1].fixed_monthly",
        ("hexadecimal",),
    ),
    Case(
        "date-with-time-zone",
        replaced("checked: 2026-02-21", "checked: 2026-02-21T10:00:00+01:00"),
        L(GOOD, "checked: 2026-02-21"),
        "providers[0].checked",
        ("without a time", "2026-02-21T10:00:00+01:00"),
    ),
    Case(
        "date-that-does-not-exist",
        replaced("price_date: 2026-02-21", "price_date: 2026-02-30"),
        L(GOOD, "price_date"),
        "pricebook.price_date",
        ("2026-02-30", "day is out of range"),
    ),
    Case(
        "date-in-another-format",
        replaced("checked: 2026-02-21", "checked: 21/02/2026"),
        L(GOOD, "checked: 2026-02-21"),
        "providers[0].checked",
        ("YYYY-MM-DD", "'21/02/2026'"),
    ),
    Case(
        "date-iso-week",
        replaced("price_date: 2026-02-21", 'price_date: "2026-W08-6"'),
        L(GOOD, "price_date"),
        "pricebook.price_date",
        ("expected a date YYYY-MM-DD, got '2026-W08-6'",),
    ),
    Case(
        "date-without-dashes",
        replaced("price_date: 2026-02-21", 'price_date: "20260221"'),
        L(GOOD, "price_date"),
        "pricebook.price_date",
        ("expected a date YYYY-MM-DD, got '20260221'",),
    ),
    Case(
        "date-one-digit-month",
        replaced("checked: 2026-02-21", "checked: 2026-2-21"),
        L(GOOD, "checked: 2026-02-21"),
        "providers[0].checked",
        ("expected a date YYYY-MM-DD, got '2026-2-21'",),
    ),
    # -- unknown fields ---------------------------------------------------------
    Case(
        "unknown-field",
        replaced("input_rate: 0.1", "input_rat: 0.1"),
        L(GOOD, "input_rate: 0.1"),
        "providers[0].input_rat",
        ("unknown field", "did you mean 'input_rate'"),
    ),
    Case(
        "unknown-section",
        replaced("forecast:", "forcast:"),
        L(GOOD, "forecast:"),
        "forcast",
        ("unknown section", "did you mean 'forecast'"),
    ),
    Case(
        "unknown-pricing",
        replaced("pricing: per_token", "pricing: per-token"),
        L(GOOD, "pricing: per_token"),
        "providers[0].pricing",
        ("did you mean 'per_token'", "got 'per-token'"),
    ),
    Case(
        "missing-field",
        replaced("    model: m1\n", ""),
        L(GOOD, "id: cheap"),
        "providers[0]",
        ("missing field 'model'",),
    ),
    Case(
        "fixed-row-without-fixed-monthly",
        replaced("    fixed_monthly: 200\n", ""),
        L(GOOD, "id: box"),
        "providers[1]",
        ("missing field 'fixed_monthly'",),
    ),
    # -- wrong types ------------------------------------------------------------
    Case(
        "text-for-number",
        replaced("input_rate: 0.1", "input_rate: '$0.09'"),
        L(GOOD, "input_rate: 0.1"),
        "providers[0].input_rate",
        ("got '$0.09'", "currency sign"),
    ),
    Case(
        "quoted-number",
        replaced("input_rate: 0.1", 'input_rate: "0.1"'),
        L(GOOD, "input_rate: 0.1"),
        "providers[0].input_rate",
        ("got '0.1' (the quotes make it text; write 0.1 without them)",),
    ),
    Case(
        "thousands-separators",
        replaced("base_tokens: 100000000", "base_tokens: 100,000,000"),
        L(GOOD, "base_tokens: 100000000"),
        "scenarios[0].base_tokens",
        ("got '100,000,000'", "thousands separators"),
    ),
    Case(
        "list-for-number",
        replaced("output_rate: 0.3", "output_rate: [0.3]"),
        L(GOOD, "output_rate: 0.3"),
        "providers[0].output_rate",
        ("got a list",),
    ),
    Case(
        "fraction-for-tier",
        replaced("quality_tier: 4", "quality_tier: 4.5"),
        L(GOOD, "quality_tier: 4"),
        "providers[0].quality_tier",
        ("whole-number tier", "got 4.5"),
    ),
    Case(
        "mapping-for-providers",
        replaced("  - id: cheap\n", "  first:\n    id: cheap\n").replace(
            b"  - id: box\n", b"  second:\n    id: box\n"
        ),
        L(GOOD, "providers:"),
        "providers",
        ("expected a list of providers", "got a mapping"),
    ),
    Case(
        "list-for-label",
        replaced("label: Cheap", "label: [Cheap]"),
        L(GOOD, "label: Cheap"),
        "providers[0].label",
        ("expected text, got a list",),
    ),
    Case(
        "bad-id",
        replaced("- id: cheap", "- id: Cheap-1"),
        L(GOOD, "id: cheap"),
        "providers[0].id",
        ("expected an id", "'Cheap-1'"),
    ),
    Case(
        "wrong-format-version",
        replaced("format: 1", "format: 2"),
        1,
        "format",
        ("expected format 1", "got 2"),
    ),
    # -- NaN, infinity, negative, absurd ---------------------------------------
    Case(
        "nan",
        replaced("input_rate: 0.1", "input_rate: .nan"),
        L(GOOD, "input_rate: 0.1"),
        "providers[0].input_rate",
        ("got .nan (not a finite number)",),
    ),
    Case(
        "infinity",
        replaced("output_rate: 0.3", "output_rate: .inf"),
        L(GOOD, "output_rate: 0.3"),
        "providers[0].output_rate",
        ("got .inf (not a finite number)",),
    ),
    Case(
        "infinity-as-text",
        replaced("output_rate: 0.3", "output_rate: Infinity"),
        L(GOOD, "output_rate: 0.3"),
        "providers[0].output_rate",
        ("got Infinity (not a finite number)",),
    ),
    Case(
        "negative",
        replaced("input_rate: 0.1", "input_rate: -0.1"),
        L(GOOD, "input_rate: 0.1"),
        "providers[0].input_rate",
        (">= 0", "got -0.1"),
    ),
    Case(
        "absurd-rate",
        replaced("input_rate: 0.1", "input_rate: 5000000"),
        L(GOOD, "input_rate: 0.1"),
        "providers[0].input_rate",
        (">= 0 and at most 1e+06", "got 5000000", "per million tokens"),
    ),
    Case(
        "huge-number",
        replaced("fixed_monthly: 200", "fixed_monthly: 1" + "0" * 400),
        L(GOOD, "fixed_monthly: 200"),
        "providers[1].fixed_monthly",
        ("got a number too large to use",),
    ),
    Case(
        "absurd-monthly-amount",
        replaced("fixed_monthly: 200", "fixed_monthly: 2.0e+12"),
        L(GOOD, "fixed_monthly: 200"),
        "providers[1].fixed_monthly",
        ("expected a number >= 0 and at most 1e+12, got 2.0e+12",),
    ),
    Case(
        "limit-shown-as-typed",
        replaced("latency_ms: 400", "latency_ms: 2e7"),
        L(GOOD, "latency_ms: 400"),
        "providers[0].latency_ms",
        ("at most 1e+07, got 2e7",),
        ("20000000.0",),
    ),
    Case(
        "volume-bounds-read-as-a-sentence",
        replaced("base_tokens: 100000000", "base_tokens: 2e15"),
        L(GOOD, "base_tokens: 100000000"),
        "scenarios[0].base_tokens",
        ("expected a number > 0 and at most 1e+15, got 2e15",),
    ),
    Case(
        "number-with-too-many-digits",
        replaced("fixed_monthly: 200", "fixed_monthly: " + "9" * 5000),
        L(GOOD, "fixed_monthly: 200"),
        "providers[1].fixed_monthly",
        ("too many digits",),
    ),
    Case(
        "tiny-number",
        replaced("input_rate: 0.1", "input_rate: 1.0e-320"),
        L(GOOD, "input_rate: 0.1"),
        "providers[0].input_rate",
        ("too close to 0",),
    ),
    Case(
        "tiny-number-that-reads-as-0",
        replaced("input_rate: 0.1", "input_rate: 1e-400"),
        L(GOOD, "input_rate: 0.1"),
        "providers[0].input_rate",
        ("got 1e-400, too close to 0",),
    ),
    Case(
        "tiny-number-of-5000-zeros",
        replaced("input_rate: 0.1", "input_rate: 0." + "0" * 5000 + "1"),
        L(GOOD, "input_rate: 0.1"),
        "providers[0].input_rate",
        ("too close to 0",),
    ),
    Case(
        "percentage-for-share",
        replaced("input_share: 0.75", "input_share: 75"),
        L(GOOD, "input_share: 0.75"),
        "scenarios[0].input_share",
        ("a share from 0 to 1", "got 75", "percentage"),
    ),
    Case(
        "cache-hit-rate-above-1",
        replaced("cache_hit_rate: 0.15", "cache_hit_rate: 1.5"),
        L(GOOD, "cache_hit_rate: 0.15"),
        "scenarios[0].cache_hit_rate",
        ("from 0 to 1", "got 1.5"),
    ),
    Case(
        "growth-of-minus-100-percent",
        replaced("growth_rate: 0.05", "growth_rate: -1"),
        L(GOOD, "growth_rate: 0.05"),
        "scenarios[1].growth_rate",
        ("> -1", "got -1"),
    ),
    # -- rows that do not fit together ------------------------------------------
    Case(
        "duplicate-provider-id",
        replaced("- id: box", "- id: cheap"),
        L(GOOD, "id: box"),
        "providers[1].id",
        ("duplicate provider id 'cheap'", f"line {L(GOOD, 'id: cheap')}"),
    ),
    Case(
        "duplicate-scenario-id",
        replaced("- id: agent", "- id: standard"),
        L(GOOD, "id: agent"),
        "scenarios[1].id",
        (
            "duplicate scenario id 'standard'",
            f"(first in {{file}} line {L(GOOD, 'id: standard')})",
        ),
    ),
    Case(
        "duplicate-provider-through-an-alias",
        ALIASED.encode(),
        L(ALIASED, "- *row"),
        "providers[2].id",
        (
            "duplicate provider id 'cheap'",
            f"line {L(ALIASED, 'id: cheap')})",
        ),
    ),
    Case(
        "gate-leaves-no-row",
        replaced("min_quality_tier: 4", "min_quality_tier: 5"),
        L(GOOD, "min_quality_tier: 4"),
        "scenarios[1].min_quality_tier",
        ("no provider passes", "got min_quality_tier 5", "highest quality tier"),
    ),
    Case(
        "latency-gate-leaves-no-row",
        after("min_quality_tier: 4", "    max_latency_ms: 100\n"),
        L(GOOD, "min_quality_tier: 4") + 1,
        "scenarios[1].max_latency_ms",
        ("no provider passes", "lowest latency of any provider is 400"),
    ),
    Case(
        "breakeven-unknown-row",
        replaced("  - [box, cheap]", "  - [box, chep]"),
        L(GOOD, "[box, cheap]"),
        "breakeven_pairs[0][1]",
        ("no provider 'chep'", "did you mean 'cheap'"),
    ),
    Case(
        "breakeven-wrong-kinds",
        replaced("  - [box, cheap]", "  - [cheap, box]"),
        L(GOOD, "[box, cheap]"),
        "breakeven_pairs[0]",
        ("expected [fixed row, per-token row]",),
    ),
    Case(
        "breakeven-pair-twice",
        replaced("  - [box, cheap]\n", "  - [box, cheap]\n  - [box, cheap]\n"),
        L(GOOD, "[box, cheap]") + 1,
        "breakeven_pairs[1]",
        ("listed twice", f"line {L(GOOD, '[box, cheap]')}"),
    ),
    Case(
        "crossover-row-twice",
        (GOOD + "crossover:\n  providers: [box, cheap, box]\n").encode(),
        len(GOOD.splitlines()) + 2,
        "crossover.providers[2]",
        ("'box' is listed twice",),
    ),
    Case(
        "defined-name-clash",
        replaced("- id: agent", "- id: row_standard"),
        L(GOOD, "id: agent"),
        "scenarios[1].id",
        ("defined name", "rename one"),
    ),
    Case(
        "defined-name-clash-of-scenario-and-provider-ids",
        replaced("- id: agent", "- id: standard_io")
        .replace(b"- id: cheap", b"- id: io_box")
        .replace(b"[box, cheap]", b"[box, io_box]"),
        L(GOOD, "id: agent"),
        "scenarios[1].id",
        (
            "defined name 'cost_standard_io_box' would be made by both scenario "
            "'standard' with provider 'io_box' and scenario 'standard_io' with "
            "provider 'box'",
        ),
    ),
    # -- empty ------------------------------------------------------------------
    Case("empty-file", b"", 1, "format", ("the file is empty",)),
    Case(
        "only-comments",
        b"# nothing here yet\n",
        1,
        "format",
        ("the file is empty",),
    ),
    Case(
        "no-providers",
        GOOD.split("providers:")[0].encode()
        + b"providers: []\n"
        + ("scenarios:" + GOOD.split("scenarios:")[1]).encode(),
        L(GOOD, "providers:"),
        "providers",
        ("at least one provider",),
    ),
    Case(
        "no-scenarios",
        GOOD.split("scenarios:")[0].encode(),
        1,
        "scenarios",
        ("missing section 'scenarios'",),
    ),
    # -- not UTF-8 ------------------------------------------------------------
    Case(
        "latin-1",
        replaced("label: Cheap", "label: Caf\u00e9").replace(b"\xc3\xa9", b"\xe9"),
        L(GOOD, "label: Cheap"),
        "providers[0].label",
        ("not UTF-8", "0xe9"),
    ),
    Case(
        "utf-16",
        GOOD.encode("utf-16"),
        1,
        None,
        ("UTF-16", "save it as UTF-8"),
    ),
    # -- text a cell cannot hold ------------------------------------------------
    Case(
        "control-character-escape",
        replaced("label: Cheap", 'label: "Ch\\x01eap"'),
        L(GOOD, "label: Cheap"),
        "providers[0].label",
        ("control character U+0001",),
    ),
    Case(
        "lone-surrogate",
        replaced("label: Cheap", 'label: "Ch\\ud800eap"'),
        L(GOOD, "label: Cheap"),
        "providers[0].label",
        ("nvalid Unicode character escape",),
    ),
    Case(
        "tab-in-label",
        replaced("label: Cheap", 'label: "Ch\\teap"'),
        L(GOOD, "label: Cheap"),
        "providers[0].label",
        ("a label may not hold a tab",),
    ),
    Case(
        "escape-sequence-in-label",
        replaced("label: Cheap", "label: Ch_x0041_eap"),
        L(GOOD, "label: Cheap"),
        "providers[0].label",
        ("a label may not hold '_x0041_'",),
    ),
    Case(
        "bidi-override-in-label",
        replaced("label: Cheap", 'label: "Ch\\u202eeap"'),
        L(GOOD, "label: Cheap"),
        "providers[0].label",
        ("bidirectional control U+202E (RIGHT-TO-LEFT OVERRIDE) at position 3",),
    ),
    Case(
        "bidi-isolate-in-model",
        replaced("model: m1", 'model: "m\\u2067x\\u2069"'),
        L(GOOD, "model: m1"),
        "providers[0].model",
        ("bidirectional control U+2067",),
    ),
    Case(
        "bidi-embedding-in-scenario-label",
        replaced("label: Agent", 'label: "\\u202bAgent"'),
        L(GOOD, "label: Agent"),
        "scenarios[1].label",
        ("bidirectional control U+202B",),
    ),
    Case(
        "bidi-override-in-source",
        replaced(
            "source: https://example.com/box",
            'source: "https://example.com/\\u202exob"',
        ),
        L(GOOD, "source: https://example.com/box"),
        "providers[1].source",
        ("bidirectional control U+202E",),
    ),
    Case(
        "label-too-long",
        replaced("label: Cheap", "label: " + "x" * 101),
        L(GOOD, "label: Cheap"),
        "providers[0].label",
        ("101 characters", "100 this field may have"),
    ),
    Case(
        "note-longer-than-a-cell",
        after("checked: 2026-02-21", "    note: " + "n" * 40_000 + "\n"),
        L(GOOD, "checked: 2026-02-21") + 1,
        "providers[0].note",
        ("40,000 characters", "32,767 an Excel cell holds"),
    ),
    Case(
        "emoji-count-twice",
        after("checked: 2026-02-21", "    note: " + "\U0001f600" * 16_400 + "\n"),
        L(GOOD, "checked: 2026-02-21") + 1,
        "providers[0].note",
        ("32,800 characters", "32,767"),
    ),
    # -- hostile sizes ----------------------------------------------------------
    Case(
        "alias-bomb",
        after("checked: 2026-02-21", bomb()),
        L(GOOD, "checked: 2026-02-21") + 4,
        "providers[0].x3[7]",
        ("alias bomb", f"{MAX_ALIAS_VALUES:,}"),
    ),
    Case(
        "deep-nesting",
        after("checked: 2026-02-21", "    note: " + "[" * 100_000 + "]" * 100_000),
        L(GOOD, "checked: 2026-02-21") + 1,
        # The field is providers[0].note[0][0]...; how deep depends on whether
        # our bound or PyYAML's own (6.0.4 and newer) stops the parser first.
        None,
        (f"nested more than {MAX_DEPTH} levels", ": providers[0].note[0]"),
    ),
    Case(
        "very-large-file",
        GOOD.encode() + b"#" * MAX_BYTES,
        1,
        None,
        (f"larger than {MAX_BYTES:,} bytes",),
    ),
]

MESSAGE = re.compile(
    r"^Error: (?P<file>[^:\n]+):(?P<line>\d+)(?::(?P<column>\d+))?: "
    r"(?:(?P<field>[^ :\n][^:\n]*?): )?(?P<problem>.+)$"
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workbook built from GOOD, to stand in for an earlier build."""
    folder = tmp_path_factory.mktemp("good")
    source = folder / "good.yaml"
    source.write_text(GOOD, encoding="utf-8")
    out = folder / "good.xlsx"
    result = CliRunner().invoke(main, ["-q", "build", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_good_pricebook_builds(good_workbook: Path) -> None:
    """The starting point of every case is itself a valid pricebook."""
    assert good_workbook.stat().st_size > 0


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_bad_pricebook(
    case: Case, existing: bool, tmp_path: Path, good_workbook: Path
) -> None:
    """One line naming file, line and field; exit 2; the output untouched."""
    source = tmp_path / "book.yaml"
    source.write_bytes(case.content)
    out = tmp_path / "out" / "book.xlsx"
    before = None
    if existing:
        out.parent.mkdir()
        out.write_bytes(good_workbook.read_bytes())
        before = sha256(out)
    result = CliRunner().invoke(main, ["build", str(source), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    match = MESSAGE.match(lines[0])
    assert match, lines[0]
    assert match["file"] == str(source)
    assert int(match["line"]) == case.line, lines[0]
    if case.field is not None:
        assert match["field"] == case.field, lines[0]
    for words in case.says:
        assert words.replace("{file}", str(source)) in lines[0], lines[0]
    for words in case.never:
        assert words not in lines[0], lines[0]
    if existing:
        assert sha256(out) == before
        assert sorted(p.name for p in out.parent.iterdir()) == ["book.xlsx"]
    else:
        assert not out.parent.exists()


def test_absurd_rate_is_a_warning(tmp_path: Path) -> None:
    """A rate above $1,000 per 1M tokens builds, with a warning naming the line."""
    source = tmp_path / "book.yaml"
    source.write_bytes(replaced("input_rate: 0.1", "input_rate: 5000"))
    out = tmp_path / "book.xlsx"
    result = CliRunner().invoke(main, ["build", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    line = L(GOOD, "input_rate: 0.1")
    assert f"{source}:{line}: providers[0].input_rate: $5,000.00" in result.stderr
    assert "per thousand tokens or per token" in result.stderr
    assert out.exists()


@pytest.mark.parametrize(
    ("old", "new", "field", "value"),
    [
        ("label: Cheap", "label: no", "label", "no"),
        ("label: Cheap", "label: 2026-02-21", "label", "2026-02-21"),
        ("model: m1", "model: 3.10", "model", "3.10"),
        ("model: m1", "model: on", "model", "on"),
        ("- id: cheap", "- id: no", "id", "no"),
        ("base_tokens: 100000000", "base_tokens: 1e8", "base_tokens", 1e8),
        ("base_tokens: 100000000", "base_tokens: 1_0000_0000", "base_tokens", 1e8),
        ("input_share: 0.75", "input_share: 7.5e-1", "input_share", 0.75),
    ],
)
def test_yaml_surprises_read_as_meant(
    old: str, new: str, field: str, value: object, tmp_path: Path
) -> None:
    """Where the intent is plain, YAML 1.1's reading is undone, not refused."""
    from generator.pricebook import load_book

    source = tmp_path / "book.yaml"
    content = replaced(old, new)
    if new == "- id: no":
        content = content.replace(b"[box, cheap]", b"[box, 'no']")
    source.write_bytes(content)
    book = load_book([source])
    row = book.scenarios[0] if field in ("base_tokens", "input_share") else None
    row = row or book.providers[0]
    assert getattr(row, field) == value


def test_cache_hit_rate_1_builds_and_verifies(tmp_path: Path) -> None:
    """All tokens from cache: costs are the fixed part, no ratio divides by 0."""
    from generator.verify import verify_workbook

    source = tmp_path / "book.yaml"
    source.write_bytes(
        replaced("cache_hit_rate: 0.15", "cache_hit_rate: 1").replace(
            b"cache_hit_rate: 0.05", b"cache_hit_rate: 1"
        )
    )
    out = tmp_path / "book.xlsx"
    result = CliRunner().invoke(main, ["build", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    verdict = verify_workbook(out, "cached")
    assert verdict.ok, [f.message for f in verdict.findings]
    from generator.engine import available_engines

    if "gnumeric" in available_engines():
        verdict = verify_workbook(out, "gnumeric", timeout=120)
        assert verdict.ok, [f.message for f in verdict.findings]


def test_cache_hit_rate_1_ratios(tmp_path: Path) -> None:
    """With a zero-cost baseline the multipliers are empty, never #DIV/0!."""
    from generator import model as m
    from generator.layout import build_plan
    from generator.pricebook import load_book

    source = tmp_path / "book.yaml"
    source.write_bytes(replaced("cache_hit_rate: 0.15", "cache_hit_rate: 1"))
    book = load_book([source])
    cheap = book.provider("cheap")
    assert m.monthly_cost(cheap, book.baseline, book.baseline.base_tokens) == 0
    assert m.multiplier(cheap, book.scenarios[1], book.baseline) is None
    assert m.breakeven(book.provider("box"), cheap, book.baseline).volume is None
    plan = build_plan(book)
    assert plan.cell("multiplier_agent_cheap").value == ""
    for sheet in plan.sheets:
        for cell in sheet.cells.values():
            assert not (isinstance(cell.value, float) and cell.value != cell.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    """A missing pricebook or one that is a folder: one line, exit 2."""
    for path, says in (
        (tmp_path / "nope.yaml", "no such file"),
        (tmp_path, "is a folder"),
    ):
        result = CliRunner().invoke(main, ["build", str(path), "-o", "x.xlsx"])
        assert result.exit_code == 2
        assert result.stderr.strip() == f"Error: {path}: {says}" or says in (
            result.stderr
        )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A FIFO as the pricebook: refused at once (reading it would wait forever)."""
    fifo = tmp_path / "f.yaml"
    os.mkfifo(fifo)
    run = subprocess.run(
        [sys.executable, "-m", "generator.cli", "build", str(fifo), "-o", "x.xlsx"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == (
        f"Error: {fifo}: is a named pipe (FIFO), not a regular file; give the "
        "pricebook as a YAML file"
    )
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
@pytest.mark.parametrize(
    "args",
    [
        ["verify", "--engine", "cached", "{fifo}"],
        ["diff", "{fifo}", "{fifo}"],
        ["assumptions", "{fifo}", "-o", "a.yaml"],
        ["import", "litellm", "{fifo}", "-o", "b.yaml"],
    ],
    ids=["verify", "diff", "assumptions", "import"],
)
def test_named_pipe_as_a_workbook_or_price_map_is_refused(
    tmp_path: Path, args: list[str]
) -> None:
    """A FIFO where a workbook or a JSON price map belongs: refused at once."""
    fifo = tmp_path / "f.xlsx"
    os.mkfifo(fifo)
    run = subprocess.run(
        [sys.executable, "-m", "generator.cli", *(a.format(fifo=fifo) for a in args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stderr
    assert "not a regular file" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.xlsx"]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_device_is_refused(tmp_path: Path) -> None:
    """/dev/zero as the pricebook: refused before a byte is read."""
    result = CliRunner().invoke(main, ["show", "/dev/zero"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: /dev/zero: is a device, not a regular file; give the pricebook "
        "as a YAML file"
    )


def test_same_file_given_twice(tmp_path: Path) -> None:
    """``build b.yaml b.yaml`` (or ./b.yaml, or a link to it) says so."""
    source = tmp_path / "b.yaml"
    source.write_text(GOOD, encoding="utf-8")
    link = tmp_path / "link.yaml"
    link.symlink_to(source)
    for second, also in (
        (str(source), ""),
        (f"{tmp_path}/./b.yaml", ""),  # the same path, as click reads it
        (str(link), f", as {source}"),
    ):
        for command in (["build", "-o", str(tmp_path / "x.xlsx")], ["show"]):
            result = CliRunner().invoke(main, [*command, str(source), second])
            assert result.exit_code == 2, result.output
            assert result.stderr.strip() == (
                f"Error: {Path(second)}: the file is given twice (files 1 and "
                f"2{also}); give each file once"
            )
    assert not (tmp_path / "x.xlsx").exists()


def test_every_command_refuses_what_build_refuses(tmp_path: Path) -> None:
    """Two ids making one defined name: build, show and diff all refuse it."""
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(replaced("- id: agent", "- id: row_standard"))
    expected = (
        f"Error: {bad}:{L(GOOD, 'id: agent')}:5: scenarios[1].id: defined name "
        "'cheapest_row_standard' would be made by both scenario 'standard' and "
        "scenario 'row_standard'; rename one of their ids"
    )
    for args in (
        ["build", str(bad), "-o", str(tmp_path / "x.xlsx")],
        ["show", str(bad)],
        ["diff", str(good), str(bad)],
        ["diff", str(bad), str(good)],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.strip() == expected, args


# ---------------------------------------------------------------------------
# Paths the file system refuses, and Ctrl-C

#: A file name longer than any file system allows (255 bytes).
TOO_LONG = "a" * 260


@pytest.mark.parametrize(
    "command",
    [
        ["build", "{good}", "-o", "{long}.xlsx"],
        ["build", "{long}.yaml"],
        ["show", "{long}.yaml"],
        ["verify", "--engine", "cached", "{long}.xlsx"],
        ["diff", "{long}.yaml", "{good}"],
        ["diff", "{good}", "{long}.xlsx"],
        ["assumptions", "{long}.xlsx", "-o", "x.yaml"],
        ["build", "{good}", "-o", "x.xlsx", "--keep-inputs", "{long}.xlsx"],
        ["build", "{good}", "-o", "{long}/x.xlsx"],
    ],
    ids=[
        "build-output",
        "build-pricebook",
        "show",
        "verify",
        "diff-old",
        "diff-new-workbook",
        "assumptions",
        "keep-inputs",
        "output-folder",
    ],
)
def test_name_too_long_is_one_line(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name the file system refuses: one line naming it, shortened; exit 2."""
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    args = [w.format(good=good, long=TOO_LONG) for w in command]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("Error: "), line
    assert "aaa...aaa" in line and "characters)" in line, line
    assert "too long" in line, line
    assert len(line) < 300, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.yaml"]


def test_long_workbook_name_builds_and_rebuilds(tmp_path: Path) -> None:
    """A 247-character name is valid: its temporary file's name is cut to fit."""
    source = tmp_path / "good.yaml"
    source.write_text(GOOD, encoding="utf-8")
    out = tmp_path / ("b" * 242 + ".xlsx")
    for _ in range(2):
        result = CliRunner().invoke(main, ["-q", "build", str(source), "-o", str(out)])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name, "good.yaml"]


def test_workbook_name_of_250_characters_builds(tmp_path: Path) -> None:
    """A 250-character name is valid; no lock file of that name can exist."""
    source = tmp_path / "good.yaml"
    source.write_text(GOOD, encoding="utf-8")
    out = tmp_path / ("b" * 245 + ".xlsx")
    result = CliRunner().invoke(main, ["-q", "build", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "target"),
    [
        (["build", "b.yaml", "-o", "b.xlsx"], "generator.build.build_workbook"),
        (["show", "b.yaml"], "generator.pricebook.load_book"),
        (["verify", "b.xlsx"], "generator.verify.verify_workbook"),
        (["diff", "a.yaml", "b.yaml"], "generator.diff.load_side"),
        (["assumptions", "b.xlsx", "-o", "b.yaml"], "generator.keep.read_current"),
        (
            ["import", "litellm", "p.json", "-o", "b.yaml"],
            "generator.litellm.import_litellm",
        ),
    ],
    ids=["build", "show", "verify", "diff", "assumptions", "import"],
)
def test_ctrl_c_exits_130_with_one_line(
    args: list[str], target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in any command: 'Error: interrupted (Ctrl-C)' and exit status 130."""

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(target, interrupted)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 130, result.output
    assert result.stderr == "Error: interrupted (Ctrl-C)\n"


INTERRUPTED_SHOW = """
import sys, time
import generator.pricebook as pricebook

def slow(paths):
    print("ready", flush=True)
    time.sleep(120)

pricebook.load_book = slow
from generator.cli import main
main(["show", "book.yaml"])
"""


def test_sigint_exits_130(tmp_path: Path) -> None:
    """A real SIGINT (Ctrl-C in a terminal) ends the process with status 130."""
    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED_SHOW)
    child = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    assert child.returncode == 130, stderr
    assert stderr == "Error: interrupted (Ctrl-C)\n"


# ---------------------------------------------------------------------------
# Writing: atomic, and never over a workbook someone is using or has edited


def build(*args: str) -> Result:
    return CliRunner().invoke(main, ["build", *args])


@pytest.fixture
def good_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD, encoding="utf-8")
    return path


@pytest.fixture
def previous(tmp_path: Path, good_workbook: Path) -> Path:
    """An earlier, unedited build at out/book.xlsx."""
    out = tmp_path / "out" / "book.xlsx"
    out.parent.mkdir()
    shutil.copyfile(good_workbook, out)
    return out


def test_failed_write_leaves_previous_workbook(
    good_yaml: Path, previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XlsxWriter failing halfway: one line, exit 2, earlier file byte for byte."""
    from xlsxwriter.exceptions import XlsxWriterException

    import generator.writer as writer

    before = sha256(previous)

    def half(plan: object, names: object, path: Path, scratch: str) -> None:
        path.write_bytes(b"PK\x03\x04 half a workbook")
        raise XlsxWriterException("disk trouble halfway")

    monkeypatch.setattr(writer, "_write", half)
    result = build(str(good_yaml), "-o", str(previous))
    assert result.exit_code == 2
    assert "cannot write the workbook: disk trouble halfway" in result.stderr
    assert sha256(previous) == before
    assert [p.name for p in previous.parent.iterdir()] == ["book.xlsx"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_interrupted_write_leaves_previous_workbook(
    error: type[BaseException],
    good_yaml: Path,
    previous: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug or Ctrl-C in the middle: the earlier workbook and folder as before."""
    import generator.writer as writer
    from generator.build import build_workbook

    before = sha256(previous)

    def half(plan: object, names: object, path: Path, scratch: str) -> None:
        path.write_bytes(b"PK\x03\x04 half a workbook")
        raise error("stop")

    monkeypatch.setattr(writer, "_write", half)
    with pytest.raises(error):
        build_workbook([good_yaml], previous)
    assert sha256(previous) == before
    assert [p.name for p in previous.parent.iterdir()] == ["book.xlsx"]


KILLED_BUILD = """
import os, sys, time, zipfile
from pathlib import Path
from generator.build import build_workbook

calls = 0
original = zipfile.ZipFile.write

def slow_write(self, *args, **kwargs):
    global calls
    calls += 1
    if calls == 5:  # some parts are in the temporary file, most are not
        print("ready", flush=True)
        time.sleep(120)
    return original(self, *args, **kwargs)

zipfile.ZipFile.write = slow_write
build_workbook([Path(sys.argv[1])], Path(sys.argv[2]))
"""


def test_killed_build_leaves_previous_workbook(
    good_yaml: Path, previous: Path, tmp_path: Path
) -> None:
    """A build killed (SIGKILL) while writing leaves the earlier file byte for byte."""
    before = sha256(previous)
    mtime = previous.stat().st_mtime_ns
    script = tmp_path / "killed.py"
    script.write_text(KILLED_BUILD)
    child = subprocess.Popen(
        [sys.executable, str(script), str(good_yaml), str(previous)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        temporary = [p for p in previous.parent.iterdir() if p.name != "book.xlsx"]
        assert temporary and temporary[0].name.startswith(".book.xlsx.")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert sha256(previous) == before
    assert previous.stat().st_mtime_ns == mtime
    # The next build is not disturbed by the temporary file left behind.
    result = build(str(good_yaml), "-o", str(previous))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("lock", "app"),
    [
        ("~$book.xlsx", "Excel"),
        ("~$ok.xlsx", "Excel"),
        (".~lock.book.xlsx#", "LibreOffice"),
    ],
)
def test_open_workbook_is_not_replaced(
    lock: str, app: str, good_yaml: Path, previous: Path
) -> None:
    """A lock file beside the workbook: refused, naming the program; --force wins."""
    before = sha256(previous)
    (previous.parent / lock).write_text("user,host")
    result = build(str(good_yaml), "-o", str(previous))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {previous}: the workbook is open in {app}")
    assert lock in result.stderr and "--force" in result.stderr
    assert sha256(previous) == before
    result = build(str(good_yaml), "-o", str(previous), "--force")
    assert result.exit_code == 0, result.output
    assert sha256(previous) != before


def _edit_with_openpyxl(path: Path, name: str | None, value: float) -> None:
    """Set the input named ``name`` and save, as a spreadsheet would."""
    wb = load_workbook(path)
    wb.properties.lastModifiedBy = "analyst"  # as Excel records who saved
    if name is not None:
        ((title, coord),) = list(wb.defined_names[name].destinations)
        wb[title][coord.replace("$", "")].value = value
    wb.save(path)


def test_edited_workbook_is_not_replaced(good_yaml: Path, previous: Path) -> None:
    """Inputs edited since the build: refused, pointing at --keep-inputs."""
    _edit_with_openpyxl(previous, "input_share_agent", 0.4)
    before = sha256(previous)
    result = build(str(good_yaml), "-o", str(previous))
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line == (
        f"Error: {previous}: 1 input was edited since infercost built it "
        "(input_share_agent: 0.35 -> 0.4); to carry them into the new workbook "
        f"add --keep-inputs {previous}, or pass --force to overwrite them"
    )
    assert sha256(previous) == before
    assert build(str(good_yaml), "-o", str(previous), "--force").exit_code == 0


def test_edit_without_a_spreadsheet_is_found(good_yaml: Path, previous: Path) -> None:
    """An input changed in the XML alone (properties untouched) is still found."""
    from xlsx_edit import set_cell_value

    from generator.layout import build_plan
    from generator.plan import a1
    from generator.pricebook import load_book

    title, row, col = build_plan(load_book([good_yaml])).names()["input_rate_cheap"]
    set_cell_value(previous, title, a1(row, col), 0.5)
    result = build(str(good_yaml), "-o", str(previous))
    assert result.exit_code == 2
    assert "input_rate_cheap: 0.1 -> 0.5" in result.stderr


def test_large_unsaved_workbook_is_not_read(
    good_yaml: Path, previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the size limit, properties untouched since the build mean unedited."""
    import generator.build as build_module
    import generator.verify as verify_module

    def unreadable(path: Path) -> None:
        raise AssertionError("read the workbook")

    monkeypatch.setattr(build_module, "QUICK_CHECK_ABOVE", 0)
    monkeypatch.setattr(verify_module, "read_workbook", unreadable)
    assert build(str(good_yaml), "-o", str(previous)).exit_code == 0
    _edit_with_openpyxl(previous, "input_share_agent", 0.4)
    monkeypatch.undo()
    monkeypatch.setattr(build_module, "QUICK_CHECK_ABOVE", 0)
    result = build(str(good_yaml), "-o", str(previous))
    assert result.exit_code == 2
    assert "input_share_agent: 0.35 -> 0.4" in result.stderr


def test_edited_workbook_rebuilt_keeping_its_inputs(
    good_yaml: Path, previous: Path
) -> None:
    """--keep-inputs naming the output itself carries the edits: no refusal."""
    _edit_with_openpyxl(previous, "input_share_agent", 0.4)
    result = build(str(good_yaml), "-o", str(previous), "--keep-inputs", str(previous))
    assert result.exit_code == 0, result.output
    assert named_values(previous)["input_share_agent"] == 0.4


def test_saved_but_unedited_workbook_is_replaced(
    good_yaml: Path, previous: Path
) -> None:
    """Opened and saved without changing an input: rebuilt without --force."""
    _edit_with_openpyxl(previous, None, 0)
    result = build(str(good_yaml), "-o", str(previous))
    assert result.exit_code == 0, result.output


def test_other_file_is_not_replaced(good_yaml: Path, tmp_path: Path) -> None:
    """A file that is not an infercost workbook is kept unless --force."""
    out = tmp_path / "budget.xlsx"
    out.write_text("finance's own numbers")
    result = build(str(good_yaml), "-o", str(out))
    assert result.exit_code == 2
    assert "not a workbook infercost can read back" in result.stderr
    assert out.read_text() == "finance's own numbers"
    assert build(str(good_yaml), "-o", str(out), "--force").exit_code == 0


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("book.xls", "ending in .xlsx"),
        ("good.yaml", "ending in .xlsx"),
        ("folder.xlsx", "is a folder"),
        ("input.xlsx", "is one of the pricebooks being read"),
    ],
)
def test_output_names_refused(
    name: str, says: str, good_yaml: Path, tmp_path: Path
) -> None:
    """Not an .xlsx name, a folder, or an input file: refused, even with --force."""
    (tmp_path / "folder.xlsx").mkdir()
    pricebook = good_yaml
    if name == "input.xlsx":
        pricebook = tmp_path / "input.xlsx"
        pricebook.write_text(GOOD)
    before = {p.name: sha256(p) for p in tmp_path.iterdir() if p.is_file()}
    result = build(str(pricebook), "-o", str(tmp_path / name), "--force")
    assert result.exit_code == 2
    assert says in result.stderr
    assert {p.name: sha256(p) for p in tmp_path.iterdir() if p.is_file()} == before


def test_missing_output_folders_are_created(good_yaml: Path, tmp_path: Path) -> None:
    """-o a/b/c/book.xlsx creates a/b/c."""
    out = tmp_path / "a" / "b" / "c" / "book.xlsx"
    assert build(str(good_yaml), "-o", str(out)).exit_code == 0
    assert out.exists()


def test_output_folder_that_cannot_be_made(good_yaml: Path, tmp_path: Path) -> None:
    """A folder that cannot be created is named in the error."""
    (tmp_path / "plain").write_text("a file, not a folder")
    out = tmp_path / "plain" / "sub" / "book.xlsx"
    result = build(str(good_yaml), "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"Error: {tmp_path / 'plain' / 'sub'}: cannot create"
    )


def test_permissions_are_kept(good_yaml: Path, previous: Path, tmp_path: Path) -> None:
    """A rebuilt workbook keeps the file's permissions; a new one gets the usual."""
    previous.chmod(0o640)
    assert build(str(good_yaml), "-o", str(previous)).exit_code == 0
    assert stat.S_IMODE(previous.stat().st_mode) == 0o640
    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.xlsx"
        assert build(str(good_yaml), "-o", str(fresh)).exit_code == 0
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    finally:
        os.umask(umask)


# ---------------------------------------------------------------------------
# Reading workbooks: refused before any parser or engine sees them


def repack(src: Path, dest: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """Copy the package ``src`` to ``dest`` with ``change`` applied to its parts."""
    with zipfile.ZipFile(src) as package:
        parts = {info.filename: package.read(info) for info in package.infolist()}
    change(parts)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return dest


def first_formula(parts: dict[str, bytes], formula: str) -> None:
    """Replace the first formula of the first sheet that has one."""
    for name in sorted(parts):
        if name.startswith("xl/worksheets/sheet") and b"<f>" in parts[name]:
            text = parts[name].decode()
            parts[name] = re.sub(
                r"<f>[^<]*</f>", f"<f>{formula}</f>", text, count=1
            ).encode()
            return
    raise AssertionError("no formula")


def _add(name: str, data: bytes) -> Callable[[dict[str, bytes]], None]:
    def change(parts: dict[str, bytes]) -> None:
        parts[name] = data

    return change


def _edit(name: str, old: bytes, new: bytes) -> Callable[[dict[str, bytes]], None]:
    def change(parts: dict[str, bytes]) -> None:
        assert old in parts[name]
        parts[name] = parts[name].replace(old, new, 1)

    return change


def _formula(text: str) -> Callable[[dict[str, bytes]], None]:
    return lambda parts: first_formula(parts, text)


EXTERNAL_IMAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type='
    b'"http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
    b'Target="http://example.invalid/pixel.png" TargetMode="External"/>'
    b"</Relationships>"
)

CRAFTED: list[tuple[str, Callable[[dict[str, bytes]], None], str]] = [
    ("vba-macro", _add("xl/vbaProject.bin", b"\0" * 64), "macro workbook"),
    (
        "macro-enabled-type",
        _edit("[Content_Types].xml", b"</Types>", b"<!-- macroEnabled --></Types>"),
        "macro-enabled",
    ),
    ("excel4-macro-sheet", _add("xl/macrosheets/sheet1.xml", b"<x/>"), "macro sheets"),
    ("external-link", _add("xl/externalLinks/externalLink1.xml", b"<x/>"), "links to"),
    ("web-query", _add("xl/connections.xml", b"<x/>"), "data connections"),
    (
        "external-image",
        _add("xl/worksheets/_rels/sheet99.xml.rels", EXTERNAL_IMAGE),
        "outside resource",
    ),
    (
        "webservice",
        _formula("WEBSERVICE(&quot;http://example.invalid/&quot;)"),
        "calls WEBSERVICE",
    ),
    (
        "webservice-char-ref",
        _formula("&#87;EBSERVICE(&quot;http://example.invalid/&quot;)"),
        "calls WEBSERVICE",
    ),
    (
        "webservice-cdata",
        _formula('<![CDATA[_xlfn.WEBSERVICE("http://example.invalid/")]]>'),
        "calls WEBSERVICE",
    ),
    (
        # An element inside the formula: its text is still INDIRECT(...) to
        # an XML parser, and Gnumeric evaluates it.
        "indirect-split-by-element",
        _formula("INDIRECT<x/>(&quot;Inputs!C11&quot;)"),
        "calls INDIRECT",
    ),
    (
        "name-split-by-element",
        _formula("IND<x></x>IRECT(&quot;Inputs!C11&quot;)"),
        "calls INDIRECT",
    ),
    ("dde", _formula("cmd|' /C calc'!A0"), "DDE"),
    ("other-workbook", _formula("[1]Sheet1!A1*2"), "another workbook"),
    (
        "dtd",
        _edit(
            "xl/workbook.xml",
            b"?>",
            b'?><!DOCTYPE x [<!ENTITY lol "lol">]>',
        ),
        "DTD",
    ),
]


@pytest.mark.parametrize(
    ("change", "says"), [c[1:] for c in CRAFTED], ids=[c[0] for c in CRAFTED]
)
def test_crafted_workbook_is_refused(
    change: Callable[[dict[str, bytes]], None],
    says: str,
    good_workbook: Path,
    tmp_path: Path,
) -> None:
    """verify refuses before reading: exit 2, one line, the file untouched."""
    path = repack(good_workbook, tmp_path / "crafted.xlsx", change)
    before = sha256(path)
    result = CliRunner().invoke(main, ["verify", "--engine", "cached", str(path)])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert line.startswith(f"Error: {path}: ") and "\n" not in line
    assert says in line, line
    assert sha256(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["crafted.xlsx"]


def _zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("[Content_Types].xml", "<Types/>")
        out.writestr("xl/workbook.xml", "<workbook/>")
        out.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))


def _encrypted_member(path: Path) -> None:
    """A package whose workbook part is flagged as encrypted (general bit 0)."""
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("[Content_Types].xml", "<Types/>")
        out.writestr("xl/workbook.xml", "<workbook/>")
    data = bytearray(path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at >= 0:
            data[at + flag_at] |= 0x1
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))


BAD_FILES: list[tuple[str, Callable[[Path], None], str]] = [
    ("empty", lambda p: p.write_bytes(b""), "empty file"),
    ("text", lambda p: p.write_text("id,price\nx,1\n"), "text file"),
    ("pdf", lambda p: p.write_bytes(b"%PDF-1.7\n..."), "PDF"),
    (
        "encrypted-ole",
        lambda p: p.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504),
        "encrypted",
    ),
    ("zip-bomb", _zip_bomb, "zip bomb"),
    ("encrypted-zip", _encrypted_member, "encrypted zip"),
    (
        "not-a-workbook-zip",
        lambda p: zipfile.ZipFile(p, "w").writestr("hello.txt", "hi"),
        "no xl/workbook.xml",
    ),
]


@pytest.mark.parametrize(
    ("make", "says"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_workbook_file_is_refused(
    make: Callable[[Path], None], says: str, tmp_path: Path
) -> None:
    """Not an xlsx, encrypted, or a zip bomb: exit 2, one line, nothing parsed."""
    path = tmp_path / "file.xlsx"
    make(path)
    result = CliRunner().invoke(main, ["verify", "--engine", "cached", str(path)])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert line.startswith(f"Error: {path}: ") and "\n" not in line
    assert says in line, line


def test_truncated_workbook_is_refused(good_workbook: Path, tmp_path: Path) -> None:
    """A workbook cut short by a mail client: refused, not a traceback."""
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good_workbook.read_bytes()[: good_workbook.stat().st_size // 2])
    result = CliRunner().invoke(main, ["verify", "--engine", "cached", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}: ")


def test_debug_shows_the_traceback_and_keeps_the_exit_status(tmp_path: Path) -> None:
    """--debug adds the traceback to the one-line error; the status stays 2."""
    missing = tmp_path / "missing.yaml"
    result = CliRunner().invoke(main, ["--debug", "build", str(missing)])
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == f"Error: {missing}: no such file"
