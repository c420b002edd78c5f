"""The Summary's charts, heatmaps, validation, protection and recommendation.

Charts are read back from the chart XML inside the xlsx package; the values
they plot are the cached values of the cells their series refer to.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import yaml
from engines import require_engine
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string as column_index
from openpyxl.utils import get_column_letter as openpyxl_column
from openpyxl.utils import range_boundaries
from xlsx_edit import defined_name, set_cell_value

from generator import model as m
from generator.build import build_workbook
from generator.layout import SUMMARY
from generator.plan import INPUT, LABEL
from generator.pricebook import load_book

NS = {
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "xdr": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
}
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BOOK = ROOT / "pricebooks" / "2026-02-21.yaml"

FEB = Path(__file__).resolve().parent.parent / "pricebooks" / "2026-02-21.yaml"


# -- reading charts back -------------------------------------------------------
def _xml(package: zipfile.ZipFile, part: str) -> ElementTree.Element:
    return ElementTree.fromstring(package.read(part))


def _target(base: str, target: str) -> str:
    """Resolve a relationship target relative to the part ``base``."""
    parts = base.rsplit("/", 1)[0].split("/")
    for piece in target.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _rels(package: zipfile.ZipFile, part: str) -> dict[str, str]:
    folder, name = part.rsplit("/", 1)
    rels = _xml(package, f"{folder}/_rels/{name}.rels")
    return {
        rel.get("Id"): _target(part, rel.get("Target"))
        for rel in rels.findall("rel:Relationship", NS)
    }


def _sheet_parts(package: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> its worksheet part."""
    book = _xml(package, "xl/workbook.xml")
    rels = _rels(package, "xl/workbook.xml")
    return {
        sheet.get("name"): rels[sheet.get(f"{{{NS['r']}}}id")]
        for sheet in book.find("m:sheets", NS)
    }


def charts_of(path: Path, title: str = SUMMARY) -> list[dict]:
    """The charts drawn on sheet ``title``: title text, anchor, root element."""
    with zipfile.ZipFile(path) as package:
        sheet = _sheet_parts(package)[title]
        drawing = _xml(package, sheet).find("m:drawing", NS)
        if drawing is None:
            return []
        drawing_part = _rels(package, sheet)[drawing.get(f"{{{NS['r']}}}id")]
        chart_rels = _rels(package, drawing_part)
        out = []
        for anchor in _xml(package, drawing_part):
            ref = anchor.find(".//c:chart", NS)
            part = chart_rels[ref.get(f"{{{NS['r']}}}id")]
            root = _xml(package, part)
            text = "".join(
                t.text or ""
                for t in root.find(".//c:title", NS).iter(f"{{{NS['a']}}}t")
            )

            def corner(tag: str, anchor=anchor) -> tuple[int, int]:
                node = anchor.find(f"xdr:{tag}", NS)
                return (
                    int(node.find("xdr:row", NS).text),
                    int(node.find("xdr:col", NS).text),
                )

            out.append(
                {
                    "title": text,
                    "root": root,
                    "from": corner("from"),
                    "to": corner("to"),
                    "from_off": int(anchor.find("xdr:from/xdr:colOff", NS).text),
                    "to_off": int(anchor.find("xdr:to/xdr:colOff", NS).text),
                }
            )
        return out


def log_axis_refs(root: ElementTree.Element) -> list[str]:
    """Every range a series puts on a logarithmic axis of the chart ``root``."""
    log_axes = {
        axis.find("c:axId", NS).get("val")
        for axis in root.iter(f"{{{NS['c']}}}valAx")
        if axis.find("c:scaling/c:logBase", NS) is not None
    }
    refs = []
    for group in root.find(".//c:plotArea", NS):
        ids = [a.get("val") for a in group.findall("c:axId", NS)]
        if not ids:
            continue
        for series in group.findall("c:ser", NS):
            on = {"c:val": ids[-1], "c:yVal": ids[-1], "c:xVal": ids[0]}
            for tag, axis in on.items():
                ref = series.find(f"{tag}/c:numRef/c:f", NS)
                if ref is not None and axis in log_axes:
                    refs.append(ref.text)
    return refs


def cached_range(path: Path, ref: str) -> list[object]:
    """The cached values of a range such as Ranking!$I$6:$I$16."""
    title, cells = ref.rsplit("!", 1)
    title = title.strip("'").replace("''", "'")
    wb = load_workbook(path, data_only=True, read_only=True)
    try:
        ws = wb[title]
        min_col, min_row, max_col, max_row = range_boundaries(cells.replace("$", ""))
        return [
            cell.value
            for row in ws.iter_rows(min_row, max_row, min_col, max_col)
            for cell in row
        ]
    finally:
        wb.close()


def _chart(charts: list[dict], pattern: str) -> list[dict]:
    found = [c for c in charts if re.search(pattern, c["title"])]
    assert found, f"no chart titled like {pattern!r} in {[c['title'] for c in charts]}"
    return found


# -- charts ----------------------------------------------------------------
def test_default_workbook_has_seven_charts_on_the_summary(built_workbook):
    """The reference's six figures become at least seven native charts."""
    charts = charts_of(built_workbook)
    assert len(charts) >= 7
    for pattern in (
        "Standard API ranking",
        "Agent ranking after the quality gate",
        "multiplier",
        "Standard API forecast: cumulative spend",
        "Agent forecast: monthly cost",
        "Crossover map",
    ):
        _chart(charts, pattern)


def test_charts_read_the_workbook_cells(built_workbook):
    """Every series is a reference to cells, never a literal list of numbers."""
    for chart in charts_of(built_workbook):
        root = chart["root"]
        assert root.find(".//c:numLit", NS) is None
        assert root.find(".//c:strLit", NS) is None
        for series in root.iter(f"{{{NS['c']}}}ser"):
            refs = [f.text for f in series.iter(f"{{{NS['c']}}}f")]
            assert refs and all("!$" in ref for ref in refs), chart["title"]


def test_every_chart_has_a_title_with_units_and_axis_titles(built_workbook):
    """Each chart says what it shows, in which unit, on both axes."""
    for chart in charts_of(built_workbook):
        assert re.search(r"\((\$|x)", chart["title"]), chart["title"]
        axes = [
            a
            for a in chart["root"].find(".//c:plotArea", NS)
            if a.tag.endswith(("valAx", "catAx"))
        ]
        assert len(axes) == 2
        for axis in axes:
            assert axis.find("c:title", NS) is not None, chart["title"]


def test_ranking_and_crossover_charts_have_logarithmic_axes(built_workbook):
    """Rankings: log cost axis; crossover maps: log volume and log cost axes."""
    charts = charts_of(built_workbook)
    for chart in _chart(charts, "ranking"):
        assert chart["root"].find(".//c:barChart/c:barDir", NS).get("val") == "bar"
        logs = chart["root"].findall(".//c:valAx/c:scaling/c:logBase", NS)
        assert [x.get("val") for x in logs] == ["10"]
    crossovers = _chart(charts, "Crossover map")
    assert len(crossovers) == 2  # one a scenario profile
    for chart in crossovers:
        assert chart["root"].find(".//c:scatterChart", NS) is not None
        logs = chart["root"].findall(".//c:valAx/c:scaling/c:logBase", NS)
        assert [x.get("val") for x in logs] == ["10", "10"]


def test_crossover_map_marks_the_breakeven_points(built_workbook, default_book):
    """The lowest break-even and each headline pair are marker-only series.

    Each sits at (break-even volume, cost there); the lowest is the one the
    recommendation uses (against the cheapest eligible per-token row).
    """
    points = []
    for chart in _chart(charts_of(built_workbook), "Crossover map"):
        markers = [
            s
            for s in chart["root"].iter(f"{{{NS['c']}}}ser")
            if s.find("c:spPr/a:ln/a:noFill", NS) is not None
        ]
        assert len(markers) == 1 + len(default_book.breakeven_pairs)
        for series in markers:
            (x,) = cached_range(built_workbook, series.find("c:xVal//c:f", NS).text)
            (y,) = cached_range(built_workbook, series.find("c:yVal//c:f", NS).text)
            points.append((round(x), round(y, 6)))
    # Both profiles: the standard one gives the published break-evens; the
    # lowest are io.net against Vertex gpt-oss (agent) and Gemma 3 4B.
    assert sorted(points) == [
        (794296197, 210.0),
        (934466114, 210.0),
        (1631720649, 210.0),
        (2068952475, 547.0),
        (4250243787, 547.0),
        (4568817818, 210.0),
    ]


def _no_zero_on_log_axes(path: Path) -> int:
    """Assert that no point on a log axis is <= 0; return the points seen."""
    seen = 0
    for chart in charts_of(path):
        refs = log_axis_refs(chart["root"])
        for ref in refs:
            values = cached_range(path, ref)
            numbers = [v for v in values if isinstance(v, (int, float))]
            assert all(v > 0 for v in numbers), (chart["title"], ref, values)
            assert all(v in (None, "#N/A") for v in values if v not in numbers)
            seen += len(numbers)
        for cache in chart["root"].iter(f"{{{NS['c']}}}numCache"):
            if refs:
                assert all(float(v.text) > 0 for v in cache.iter(f"{{{NS['c']}}}v"))
    return seen


def test_no_zero_or_negative_point_on_a_log_axis(built_workbook):
    """Ineligible rows are #N/A (a gap), never 0, in cells and chart caches."""
    assert _no_zero_on_log_axes(built_workbook) > 100


def test_ineligible_rows_are_gaps_not_missing_bars(built_workbook):
    """The agent ranking keeps its ineligible rows as named categories."""
    (chart,) = _chart(charts_of(built_workbook), "Agent ranking")
    series = chart["root"].find(".//c:ser", NS)
    names = cached_range(built_workbook, series.find("c:cat//c:f", NS).text)
    values = cached_range(built_workbook, series.find("c:val//c:f", NS).text)
    assert len(names) == len(values) == 11
    gaps = [n for n, v in zip(names, values, strict=True) if v == "#N/A"]
    assert gaps == ["Bedrock Gemma 3 4B", "Vertex Mistral"]


def _variant(tmp_path: Path, change) -> Path:
    """Build the default book after ``change(document)``; return the xlsx."""
    doc = yaml.safe_load(DEFAULT_BOOK.read_text(encoding="utf-8"))
    change(doc)
    book = tmp_path / "variant.yaml"
    book.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    out = tmp_path / "variant.xlsx"
    build_workbook([book], out)
    return out


def test_free_row_is_a_gap_on_log_axes(tmp_path):
    """A per-token row priced at 0 reaches no logarithmic axis as a zero."""

    def free(doc):
        for row in doc["providers"]:
            if row["id"] == "bedrock_gemma3_4b":
                row["input_rate"] = row["output_rate"] = 0

    path = _variant(tmp_path, free)
    assert _no_zero_on_log_axes(path) > 100
    (chart,) = _chart(charts_of(path), "Standard API ranking")
    ref = chart["root"].find(".//c:ser/c:val//c:f", NS).text
    assert cached_range(path, ref)[0] == "#N/A"  # the free row ranks first


def test_charts_stay_readable_with_many_providers(tmp_path):
    """With 40 rows, a chart draws at most 15 of them."""

    def many(doc):
        base = doc["providers"][1]
        for k in range(29):
            doc["providers"].append(
                {
                    **base,
                    "id": f"extra_{k}",
                    "label": f"Extra {k}",
                    "input_rate": 0.5 + k,
                    "output_rate": 1 + k,
                }
            )

    path = _variant(tmp_path, many)
    charts = charts_of(path)
    for chart in _chart(charts, "ranking|multiplier"):
        titles = "".join(t.text for t in chart["root"].iter(f"{{{NS['a']}}}t"))
        assert "(15 of 40 rows)" in titles
        for ref in chart["root"].iter(f"{{{NS['c']}}}f"):
            if ":" in ref.text:
                assert len(cached_range(path, ref.text)) == 15, chart["title"]
    for chart in _chart(charts, "forecast|months"):
        assert len(chart["root"].findall(".//c:ser", NS)) <= 5


def test_charts_sit_below_the_tables_and_never_overlap(built_workbook):
    """The grid starts below the Summary's last text row; no two charts meet."""
    charts = charts_of(built_workbook)
    wb = load_workbook(built_workbook, read_only=True)
    try:
        last_text_row = max(
            cell.row
            for row in wb[SUMMARY].iter_rows()
            for cell in row
            if cell.value not in (None, "")
        )
    finally:
        wb.close()
    boxes = []
    for chart in charts:
        (r1, c1), (r2, c2) = chart["from"], chart["to"]
        assert r1 >= last_text_row  # 0-based row >= 1-based last row: below it
        boxes.append((r1, (c1, chart["from_off"]), r2, (c2, chart["to_off"])))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart_rows = a[2] < b[0] or b[2] < a[0]
            apart_cols = a[3] <= b[1] or b[3] <= a[1]
            assert apart_rows or apart_cols, (a, b)


def test_no_chart_straddles_a_page_break(built_workbook):
    """Manual page breaks on the Summary fall between rows of charts."""
    with zipfile.ZipFile(built_workbook) as package:
        sheet = _xml(package, _sheet_parts(package)[SUMMARY])
    breaks = [int(b.get("id")) for b in sheet.findall("m:rowBreaks/m:brk", NS)]
    assert breaks
    for chart in charts_of(built_workbook):
        first, last = chart["from"][0], chart["to"][0]
        assert not any(first < b <= last for b in breaks), (chart["title"], breaks)


# -- heatmaps, validation, protection --------------------------------------
def test_sensitivity_grids_carry_three_colour_scales(built_workbook, default_plan):
    """Both grids of every scenario are heatmaps (green, yellow, red)."""
    wb = load_workbook(built_workbook)
    rules = [
        (str(cf.sqref), rule)
        for cf in wb["Sensitivity"].conditional_formatting
        for rule in cf.rules
    ]
    scales = [(ref, r) for ref, r in rules if r.type == "colorScale"]
    assert len(scales) == 2 * 2  # share grid and volume grid, two scenarios
    for _, rule in scales:
        assert len(rule.colorScale.cfvo) == 3
        assert len(rule.colorScale.color) == 3
    expected = default_plan.sheet("Sensitivity").colour_scales
    assert len(expected) == len(scales)


def test_chart_gaps_are_faint_not_alarming(built_workbook, default_plan):
    """Every formula that may give #N/A (a chart gap) is greyed when it does."""
    from openpyxl.utils.cell import range_boundaries

    wb = load_workbook(built_workbook)
    for sheet in default_plan.sheets:
        gaps = {
            (row + 1, col + 1)
            for (row, col), cell in sheet.cells.items()
            if cell.formula and "NA()" in cell.formula
        }
        covered = set()
        for cf in wb[sheet.title].conditional_formatting:
            for rule in cf.rules:
                if rule.type != "expression" or not rule.formula[0].startswith("ISNA("):
                    continue
                assert rule.dxf.font.color.rgb.endswith("A6A6A6")
                for cells in cf.sqref.ranges:
                    c1, r1, c2, r2 = range_boundaries(str(cells))
                    top_left = f"ISNA({cells.coord.split(':')[0]})"
                    assert rule.formula[0] == top_left
                    covered |= {
                        (r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                    }
        assert covered == gaps, sheet.title
        if sheet.title in ("Ranking", "Breakeven"):
            assert gaps, sheet.title


def test_no_text_is_cut_off_by_the_cell_to_its_right(built_workbook, default_plan):
    """A text beside a filled cell fits its column (up to the width cap)."""
    from openpyxl.utils import get_column_letter

    from generator.plan import BOLD, FIT_CAP, WRAPPED

    wb = load_workbook(built_workbook)
    for sheet in default_plan.sheets:
        if sheet.hidden:
            continue
        dims = wb[sheet.title].column_dimensions
        for (row, col), cell in sheet.cells.items():
            right = sheet.cells.get((row, col + 1))
            text = cell.value
            if not isinstance(text, str) or cell.style in WRAPPED:
                continue
            if right is None or right.value in (None, ""):
                continue
            width = dims[get_column_letter(col + 1)].width
            bold = cell.style in BOLD or cell.style.startswith("out:")
            need = len(text) * (1.12 if bold else 1.0)
            assert need <= width or width >= FIT_CAP, (sheet.title, row, col, text)


def test_every_input_is_validated_and_unlocked(built_workbook, default_plan):
    """Each blue input cell has a validation rule and may be edited."""
    wb = load_workbook(built_workbook)
    for title in ("Inputs", "Pricebook"):
        ws = wb[title]
        covered = set()
        for rule in ws.data_validations.dataValidation:
            for cells in str(rule.sqref).split():
                lo_c, lo_r, hi_c, hi_r = range_boundaries(cells)
                covered |= {
                    (r, c) for r in range(lo_r, hi_r + 1) for c in range(lo_c, hi_c + 1)
                }
        inputs = [
            (row + 1, col + 1)
            for (row, col), cell in default_plan.sheet(title).cells.items()
            if cell.kind == INPUT
        ]
        assert inputs
        assert not [c for c in inputs if c not in covered], title
        for row, col in inputs:
            assert ws.cell(row, col).protection.locked is False
        formula = next(
            (r + 1, c + 1)
            for (r, c), cell in default_plan.sheet(title).cells.items()
            if cell.kind != INPUT
        )
        assert ws.cell(*formula).protection.locked is not False


def test_every_sheet_is_protected_without_a_password(built_workbook):
    """A keystroke cannot overwrite a formula; no password locks anyone out."""
    with zipfile.ZipFile(built_workbook) as package:
        parts = _sheet_parts(package)
        for title, part in parts.items():
            protection = _xml(package, part).find("m:sheetProtection", NS)
            assert protection is not None, title
            assert protection.get("sheet") == "1", title
            assert protection.get("password") is None, title
            assert protection.get("hashValue") is None, title


# -- the Summary -------------------------------------------------------------
def _summary_recommendations(values: dict[str, dict[str, object]]) -> list[object]:
    return [values[SUMMARY].get(f"H{row}") for row in (7, 8)]


def test_summary_is_formulas_and_names_the_profile(default_plan):
    """Every figure on the Summary is a formula; the profile rows are there."""
    sheet = default_plan.sheet(SUMMARY)
    labels = {cell.value for cell in sheet.cells.values() if cell.kind == LABEL}
    assert {"Input share", "Net overhead", "How to decide"} <= labels
    assert any(str(v).startswith("The question:") for v in labels)
    numbers = [
        cell
        for cell in sheet.cells.values()
        if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool)
    ]
    assert numbers and all(cell.formula for cell in numbers)
    formulas = [cell.formula for cell in sheet.cells.values() if cell.formula]
    assert any("master_check" in formula for formula in formulas)
    assert sheet.cells[(6, 7)].formula == "recommendation_standard"
    assert sheet.cells[(7, 7)].formula == "recommendation_agent"


def test_default_recommendations(built_workbook):
    """Standard stays on pay-per-token; the agent profile is past break-even."""
    wb = load_workbook(built_workbook, data_only=True, read_only=True)
    try:
        summary = [wb[SUMMARY][f"H{row}"].value for row in (7, 8)]
        named = []
        for name in ("recommendation_standard", "recommendation_agent"):
            sheet, cell = defined_name(built_workbook, name)
            named.append(wb[sheet][cell].value)
    finally:
        wb.close()
    for standard, agent in (summary, named):
        assert standard.startswith("stay on pay-per-token")
        assert agent.startswith("evaluate fixed-cost")


def test_recommendations_flip_with_volume(built_workbook, tmp_path):
    """Below the lowest break-even: pay-per-token; above it: evaluate fixed-cost.

    The volumes are edited in the sheet XML of a copy and LibreOffice
    recalculates every formula.
    """
    require_engine("libreoffice")
    from generator.engine import recalculated_values

    path = tmp_path / "flipped.xlsx"
    shutil.copyfile(built_workbook, path)
    sheet, cell = defined_name(path, "base_tokens_agent")
    set_cell_value(path, sheet, cell, 500_000_000)  # lowest: 934,466,114
    sheet, cell = defined_name(path, "base_tokens_standard")
    set_cell_value(path, sheet, cell, 5_000_000_000)  # lowest: 4,568,817,818
    values = recalculated_values(path, "libreoffice", timeout=300)
    standard, agent = _summary_recommendations(values)
    assert standard.startswith("evaluate fixed-cost")
    assert agent.startswith("stay on pay-per-token")
    for name, start in (
        ("recommendation_standard", "evaluate fixed-cost"),
        ("recommendation_agent", "stay on pay-per-token"),
    ):
        sheet, cell = defined_name(path, name)
        assert str(values[sheet][cell]).startswith(start)


def test_recommendations_say_when_the_gates_leave_no_row(built_workbook, tmp_path):
    """Gates that leave no fixed-cost row, or no row at all, are said as such.

    The recommendation must not compare volumes with a break-even of rows that
    fail the gates; LibreOffice recalculates the edited copy.
    """
    require_engine("libreoffice")
    from generator.engine import recalculated_values

    path = tmp_path / "gated.xlsx"
    shutil.copyfile(built_workbook, path)
    sheet, cell = defined_name(path, "min_quality_tier_agent")
    set_cell_value(path, sheet, cell, 5)  # only Claude Sonnet 4.5, per-token
    sheet, cell = defined_name(path, "min_sla_standard")
    set_cell_value(path, sheet, cell, 0.99999)  # no row has that SLA
    values = recalculated_values(path, "libreoffice", timeout=300)
    standard, agent = _summary_recommendations(values)
    assert standard == m.NO_ELIGIBLE
    assert agent == m.NO_FIXED_ELIGIBLE
    sheet, cell = defined_name(path, "master_check")
    assert values[sheet][cell] in (False, 0)


def test_recommendation_model_covers_every_gate_outcome():
    """The model's recommendation: no row, no fixed row, no per-token row."""
    book = load_book([FEB])
    agent = next(s for s in book.scenarios if s.id == "agent")
    rows = book.providers
    fixed = [p for p in rows if p.is_fixed]
    tokens = [p for p in rows if not p.is_fixed]
    assert m.recommendation(rows, agent) == m.EVALUATE
    assert m.recommendation(tokens, agent) == m.NO_FIXED_ELIGIBLE
    assert m.recommendation(fixed, agent) == m.FIXED_ONLY
    assert m.evaluates_fixed_cost(m.FIXED_ONLY)
    gated = dataclasses.replace(agent, min_quality_tier=5)
    assert m.recommendation(fixed, gated) == m.NO_ELIGIBLE


def test_forecast_charts_follow_the_gates_and_the_forecast_months(
    built_workbook, tmp_path
):
    """Forecast charts draw the cheapest eligible rows as ranked after an edit,
    with gaps (never a drop to $0) past a shortened forecast."""
    require_engine("libreoffice")
    from generator.engine import recalculated_values

    path = tmp_path / "short.xlsx"
    shutil.copyfile(built_workbook, path)
    sheet, cell = defined_name(path, "forecast_months")
    set_cell_value(path, sheet, cell, 3)
    sheet, cell = defined_name(path, "min_quality_tier_agent")
    set_cell_value(path, sheet, cell, 5)  # Claude Sonnet 4.5 alone
    values = recalculated_values(path, "libreoffice", timeout=300)
    monthly = _chart(charts_of(path), "Agent forecast: monthly")[0]["root"]
    series = list(monthly.iter(f"{{{NS['c']}}}ser"))
    names = [s.find("c:tx//c:f", NS).text for s in series]
    refs = [s.find("c:val//c:f", NS).text for s in series]

    def cells(reference: str) -> list[object]:
        title, span = reference.replace("'", "").split("!")
        first, last = span.replace("$", "").split(":")
        row = first.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        start = first[: -len(row)]
        end = last[: -len(row)]
        columns = [
            openpyxl_column(n)
            for n in range(column_index(start), column_index(end) + 1)
        ]
        return [values[title].get(f"{c}{row}") for c in columns]

    top = cells(refs[0])
    assert all(isinstance(v, float) and v > 0 for v in top[:3])
    assert all(v in (None, "#N/A") for v in top[3:])  # gaps, not zeros
    name_title, name_cell = names[0].replace("'", "").replace("$", "").split("!")
    assert values[name_title][name_cell] == "Claude Sonnet 4.5"
    for reference in refs[1:]:  # no other row passes the tier-5 gate
        assert all(v in (None, "#N/A") for v in cells(reference))


def test_printed_pages_repeat_the_frozen_headings(built_workbook):
    """Each sheet with frozen heading rows prints them on every page; the
    Forecast's are its timeline, so a second page still shows the months."""
    with zipfile.ZipFile(built_workbook) as package:
        root = ElementTree.fromstring(package.read("xl/workbook.xml"))
    titles = {
        name.text.split("!")[0].strip("'"): name.text.split("!")[1]
        for name in root.iter(f"{{{NS['m']}}}definedName")
        if name.get("name") == "_xlnm.Print_Titles"
    }
    assert titles["Forecast"] == "$1:$4"
    assert titles["Pricebook"] == "$1:$4"
    wb = load_workbook(built_workbook, read_only=True)
    try:
        timeline = [c.value for c in wb["Forecast"][4]]
    finally:
        wb.close()
    assert timeline[1] == "Month of the forecast"
    assert [str(v).startswith("=COLUMNS(") for v in timeline[3:9]] == [True] * 6
