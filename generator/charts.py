"""Native charts on the Summary sheet, each reading the workbook's own cells.

:func:`add_charts` is the last step of :meth:`generator.layout.Layout.build`.
For the default book it adds seven charts, in a two-column grid below the
Summary's tables:

- a ranking per scenario: horizontal bars on a logarithmic cost axis, read
  from the Ranking sheet's "Chart cost ($, eligible)" column;
- a crossover map per scenario profile: cost against monthly volume, a
  scatter chart with straight lines on logarithmic axes; each headline
  break-even point (``breakeven_pairs``) is a marker-only series labelled
  with the pair's names;
- the forecast: cumulative spend of the first scenario and the monthly
  trajectory of the second;
- the cost multiplier of every other scenario over the baseline.

Rules kept here:

- A logarithmic axis never receives a zero or a negative point: every range
  it reads is a formula that gives #N/A (a gap) instead. The Ranking sheet
  has such a column; for the crossover map this module adds a block of
  guarded cells below the crossover table on the Breakeven sheet, with the
  x and y of each break-even point. Every such range is listed in the chart's
  ``log_value_ranges``.
- A chart shows at most :data:`MAX_ROWS` rows (ranking positions, providers),
  so that a pricebook of thousands of rows still gives readable charts.
- Which providers the forecast and multiplier charts draw is chosen when the
  workbook is built (the cheapest eligible rows of the scenario, the first
  rows of the pricebook); their values follow every edit, the choice of rows
  does not. The ranking charts read ranking positions, so they follow both.
- Charts are placed so that none straddles a printed page break, assuming
  the writer's page setup: A4 landscape, default margins, fit to one page
  wide (see :func:`rows_per_page`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from . import model as m
from .plan import NA_VALUE, Chart, SheetPlan, a1, ref

if TYPE_CHECKING:  # pragma: no cover - layout imports this module
    from .layout import Layout
    from .pricebook import Scenario

#: Rows a chart draws at most: ranking positions, providers.
MAX_ROWS = 15
#: Providers drawn in a forecast chart: the cheapest eligible ones.
FORECAST_ROWS = 5
#: Longest provider label a chart shows; a book with longer ones shows ids.
LABEL_MAX = 28

#: Office's palette: the colour of a provider is its pricebook position's.
PALETTE = (
    "#4472C4", "#ED7D31", "#A5A5A5", "#FFC000", "#5B9BD5", "#70AD47",
    "#264478", "#9E480E", "#636363", "#997300", "#255E91", "#43682B",
)  # fmt: skip
SCENARIO_COLOURS = ("#4472C4", "#ED7D31", "#70AD47", "#7030A0", "#C00000")

#: Number formats of chart axes and labels.
MONEY = '[<1]"$"0.00;"$"#,##0'
# No bar label below $1: LibreOffice draws it left of the bar, over the names.
MONEY_LABEL = '[<1]"";"$"#,##0.00'
VOLUME = '[>=1000000000]0,,,"B";[>=1000000]0,,"M";#,##0'
TIMES = '0"x"'
TIMES_LABEL = '0.0"x"'

# Page geometry the writer sets up (A4 landscape, XlsxWriter's default margins
# of 0.7 in left and right, 0.75 in top and bottom; the header and footer sit
# inside those), and Excel's default row height of 15 pt = 20 px at 96 dpi.
PAGE_WIDTH_IN = 11.69 - 2 * 0.7
PAGE_HEIGHT_IN = 8.27 - 2 * 0.75
DPI = 96
ROW_PX = 20
#: Chart grid: two columns, a gap between charts, rows of this many sheet rows.
GAP_PX = 16
CHART_ROWS = 18
CHART_HEIGHT_PX = CHART_ROWS * ROW_PX - 20

FONT = {"name": "Calibri", "size": 8, "color": "#404040"}
TITLE_FONT = {"name": "Calibri", "size": 11, "bold": True, "color": "#1F1F1F"}
AXIS_TITLE_FONT = {"name": "Calibri", "size": 9, "bold": False, "color": "#404040"}
GRID = {"visible": True, "line": {"color": "#D9D9D9", "width": 0.5}}


def column_px(width: float) -> int:
    """Excel's pixel width of a column ``width`` characters wide (Calibri 11)."""
    if width < 1:
        return int(width * 12 + 0.5)
    return int(width * 7 + 0.5) + 5


def rows_per_page(width_px: int) -> int:
    """Sheet rows one printed page holds when ``width_px`` is fitted to its width.

    Excel scales a fit-to-width page by a whole percentage, never above 100%,
    and prints rows of 15 pt (LibreOffice's are shorter: more fit a page).
    """
    scale = min(100, math.floor(100 * PAGE_WIDTH_IN * DPI / width_px)) / 100
    return math.floor(PAGE_HEIGHT_IN * DPI / scale / ROW_PX)


def add_charts(layout: Layout) -> None:
    """Add the Summary's charts (and the cells they need) to ``layout.plan``."""
    from .layout import BREAKEVEN, FORECAST, SUMMARY

    summary = layout.sheet(SUMMARY)
    charts: list[Chart] = []
    for s in layout.scenarios:
        charts.append(_ranking(layout, s))
    for s in layout.scenarios:
        charts.append(_crossover(layout, s))
    charts += _forecasts(layout)
    if len(layout.scenarios) > 1:
        charts.append(_multipliers(layout))
    charts = [chart for chart in charts if chart.series]  # nothing to draw
    for title in (BREAKEVEN, FORECAST):  # the chart series cells just added
        layout.sheet(title).fit_widths()
    _place(summary, charts, layout.summary_charts_row)
    layout.plan.charts.extend(charts)


# -- placement ---------------------------------------------------------------
def _place(summary: SheetPlan, charts: list[Chart], top: int) -> None:
    """Lay ``charts`` out two a row from sheet row ``top``, across page breaks.

    The grid is as wide as the Summary's columns. Printed pages start every
    :func:`rows_per_page` rows (Excel's automatic breaks when it fits the
    sheet to the page width); a row of charts that would come within a row of
    a page's end starts the next page instead, with a manual page break
    there, which LibreOffice keeps when it fits a sheet to the page width
    (its rows are shorter, so its own breaks would come later).
    """
    width_px = sum(column_px(w) for w in summary.widths.values())
    chart_px = (width_px - GAP_PX) // 2
    per_page = rows_per_page(width_px)
    row = top
    for k in range(0, len(charts), 2):
        page_start = row // per_page * per_page
        new_page = row + CHART_ROWS > page_start + per_page - 1
        if new_page:
            row = page_start + per_page
        for j, chart in enumerate(charts[k : k + 2]):
            chart.sheet = summary.title
            chart.anchor = a1(row, 0)
            chart.options["set_size"] = {"width": chart_px, "height": CHART_HEIGHT_PX}
            # A little below the row line, so that no border is drawn on the
            # page above when the row starts a page.
            chart.options["insert"] = {
                "x_offset": j * (chart_px + GAP_PX),
                "y_offset": 6,
            }
            if new_page and j == 0:
                chart.options["page_break"] = True
        row += CHART_ROWS


# -- the charts --------------------------------------------------------------
def _chart(kind: dict[str, Any], title: str) -> Chart:
    return Chart(
        sheet="",
        anchor="A1",
        type=kind,
        series=[],
        options={
            "set_title": {"name": title, "name_font": TITLE_FONT, "overlay": False},
            "set_chartarea": {"border": {"color": "#BFBFBF"}},
            "set_legend": {"position": "bottom", "font": FONT},
            "show_blanks_as": "gap",
            "show_na_as_empty_cell": None,
        },
    )


def _axis(name: str, num_format: str | None = None, **more: Any) -> dict[str, Any]:
    axis: dict[str, Any] = {
        "name": name,
        "name_font": AXIS_TITLE_FONT,
        "num_font": FONT,
        "line": {"color": "#BFBFBF"},
        **more,
    }
    if num_format:
        axis["num_format"] = num_format
    return axis


def _ranking(layout: Layout, s: Scenario) -> Chart:
    """Horizontal bars of the cheapest positions, on a logarithmic cost axis."""
    from .layout import RANKING

    block = layout.ranking_blocks[s.id]
    last = min(block.last, block.first + MAX_ROWS - 1)
    shown = last - block.first + 1
    colour = SCENARIO_COLOURS[layout.scenarios.index(s) % len(SCENARIO_COLOURS)]
    chart = _chart(
        {"type": "bar"},
        f"{s.label} ranking{_gates(s)} ($ / month, log scale)",
    )
    name_col = 3 if _use_ids(layout) else 4  # Ranking: id, provider
    chart.series.append(
        {
            "name": f"{s.label}: monthly cost ($)",
            "categories": [RANKING, block.first, name_col, last, name_col],
            "values": [RANKING, block.first, 8, last, 8],
            "fill": {"color": colour},
            "border": {"none": True},
            "gap": 40,
            "data_labels": {
                "value": True,
                "num_format": MONEY_LABEL,
                "position": "outside_end",
                "font": FONT,
            },
        }
    )
    chart.log_value_ranges.append((RANKING, block.first, 8, last))
    # The category axis crosses the cost axis at 1 ($1), as usual on a log
    # axis: with "min" LibreOffice draws every bar label left of its bar. Bars
    # of less than $1 then grow leftwards from $1 (and have no label).
    chart.options["set_x_axis"] = _axis(
        "Monthly cost ($ / month, log scale; no bar: fails a gate)",
        MONEY,
        log_base=10,
        major_gridlines=GRID,
    )
    chart.options["set_y_axis"] = _axis(
        f"Provider, cheapest first{_of(shown, layout.n)}",
        None,
        reverse=True,
        crossing="max",
    )
    chart.options["set_legend"] = {"none": True}
    return chart


def _gates(s: Scenario) -> str:
    """' after the quality gate' (or 'its gates'), '' for an ungated scenario."""
    others = s.min_sla is not None or s.max_latency_ms is not None
    if others:
        return " after its gates"
    return " after the quality gate" if s.min_quality_tier is not None else ""


def _of(shown: int, total: int) -> str:
    """' (15 of 3,445 rows)' when a chart leaves rows out, else ''."""
    return f" ({shown} of {total:,} rows)" if total > shown else ""


def _use_ids(layout: Layout) -> bool:
    """True when some provider label is too long for a chart: show ids."""
    return max(len(p.label) for p in layout.providers) > LABEL_MAX


def _crossover(layout: Layout, s: Scenario) -> Chart:
    """Cost against volume on log-log axes, with the break-even points."""
    from .layout import BREAKEVEN

    sheet = layout.sheet(BREAKEVEN)
    block = layout.crossover[s.id]
    n = int(block["n"])  # type: ignore[call-overload]
    guarded = _guarded_crossover(layout, sheet, s)
    chart = _chart(
        {"type": "scatter", "subtype": "straight"},
        f"Crossover map, {s.label} profile ($ / month against tokens, log-log)",
    )
    index = {p.id: i for i, p in enumerate(layout.providers)}
    x_row = guarded["x_row"]
    name_col = 0 if _use_ids(layout) else 1  # the crossover table: id, provider
    for q, pid in enumerate(layout.book.crossover_providers[:MAX_ROWS]):
        r = guarded["first"] + q
        p = layout.providers[index[pid]]
        line: dict[str, Any] = {
            "color": PALETTE[index[pid] % len(PALETTE)],
            "width": 1.75,
        }
        if p.is_fixed:
            line["dash_type"] = "dash"
        chart.series.append(
            {
                "name": [BREAKEVEN, int(block["first"]) + q, name_col],  # type: ignore
                "categories": [BREAKEVEN, x_row, 2, x_row, 1 + n],
                "values": [BREAKEVEN, r, 2, r, 1 + n],
                "line": line,
                "marker": {"type": "none"},
            }
        )
        for k in range(n):
            chart.log_value_ranges.append((BREAKEVEN, r, 2 + k, r))
    for k in range(n):
        chart.log_value_ranges.append((BREAKEVEN, x_row, 2 + k, x_row))
    # Break-even points are markers named in the legend (labels beside the
    # points overlap where two break-evens are close): the lowest one, which
    # the recommendation uses, in black; the headline pairs in red.
    markers = ("triangle", "square", "circle", "x")
    for k, (row, f, t) in enumerate(guarded["points"]):
        lowest = t is None
        colour = "#000000" if lowest else "#C00000"
        chart.series.append(
            {
                "name": f if lowest else f"{f.label} = {t.label}",
                "categories": [BREAKEVEN, row, 2, row, 2],
                "values": [BREAKEVEN, row, 3, row, 3],
                "line": {"none": True},
                "marker": {
                    "type": "diamond" if lowest else markers[(k - 1) % len(markers)],
                    "size": 9 if lowest else 7,
                    "fill": {"color": colour},
                    "border": {"color": "#FFFFFF"},
                },
            }
        )
        chart.log_value_ranges.append((BREAKEVEN, row, 2, row))
        chart.log_value_ranges.append((BREAKEVEN, row, 3, row))
    chart.options["set_legend"] = {"position": "right", "font": FONT}
    chart.options["set_x_axis"] = _axis(
        "Monthly volume (base tokens / month, log scale)",
        VOLUME,
        log_base=10,
        major_gridlines=GRID,
        crossing="min",
    )
    chart.options["set_y_axis"] = _axis(
        "Monthly cost ($ / month, log scale)",
        MONEY,
        log_base=10,
        major_gridlines=GRID,
        crossing="min",
    )
    return chart


def _guarded_crossover(layout: Layout, sheet: SheetPlan, s: Scenario) -> dict[str, Any]:
    """Cells the crossover chart reads: positive values or #N/A.

    Below the crossover table of the Breakeven sheet: the volume row and each
    row's cost, #N/A where not above 0; then one row per headline break-even
    pair with its volume (x) and the fixed row's cost there (y).
    """
    from .layout import C_BLENDED

    sid = s.id
    block = layout.crossover[sid]
    n = int(block["n"])  # type: ignore[call-overload]
    vol_row, first = int(block["vol_row"]), int(block["first"])  # type: ignore
    row = max(r for r, _ in sheet.cells) + 2
    for col in range(2, 2 + n):  # room for 100,000,000,000
        sheet.widths[col] = max(sheet.widths.get(col, 0), 15)
    if sid == layout.scenarios[0].id:
        sheet.label(
            row,
            0,
            "Chart series: the crossover map and its break-even points, #N/A "
            "(a gap) where a value is not above 0: a log axis takes no zero",
            "subtitle",
        )
        row += 1
    sheet.label(row, 0, f"{s.label} profile", "label")
    sheet.label(row, 1, "Volume (tokens / month)", "header")
    x_row = row
    for k in range(n):
        col = 2 + k
        src = a1(vol_row, col)
        value = sheet.cells[(vol_row, col)].value
        sheet.formula(
            row,
            col,
            f"IF({src}>0,{src},NA())",
            value if _positive(value) else NA_VALUE,
            "calc:tokens",
        )
    row += 1
    out: dict[str, Any] = {"x_row": x_row, "first": row}
    for q, pid in enumerate(layout.book.crossover_providers[:MAX_ROWS]):
        src_row = first + q
        sheet.label(row, 0, pid, "id")
        sheet.formula(
            row, 1, a1(src_row, 1), sheet.cells[(src_row, 1)].value, "calc:text"
        )
        for k in range(n):
            col = 2 + k
            src = a1(src_row, col)
            value = sheet.cells[(src_row, col)].value
            sheet.formula(
                row,
                col,
                f"IF({src}>0,{src},NA())",
                value if _positive(value) else NA_VALUE,
                "calc:money",
            )
        row += 1
    pairs = [
        (f, t)
        for f, t in layout.book.breakeven_pairs
        if (sid, f, t) in layout.pair_cells
    ]
    out["points"] = []
    if not pairs and not any(p.is_fixed for p in layout.providers):
        return out
    row += 1
    sheet.label(
        row,
        0,
        f"{s.label} profile: break-even points, the volume (x) and the cost "
        "there (y); the first is the lowest break-even, which the "
        "recommendation uses",
        "label",
    )
    row += 1
    for col, heading in enumerate(
        ("Fixed row", "Per-token row", "Tokens / month", "$ / month")
    ):
        sheet.label(row, col, heading, "header")
    row += 1
    row = _lowest_point(layout, sheet, s, row, out)
    index = {p.id: i for i, p in enumerate(layout.providers)}
    for f_id, t_id in pairs:
        i = index[f_id]
        f, t = layout.providers[i], layout.providers[index[t_id]]
        be_row, be_col = layout.pair_cells[(sid, f_id, t_id)]
        be = m.breakeven(f, t, s)
        x: Any = NA_VALUE
        if be.status == m.CROSSES and be.volume is not None and be.volume > 0:
            x = be.volume
        y = NA_VALUE if x is NA_VALUE else m.monthly_cost(f, s, x)
        src = a1(be_row, be_col)
        sheet.label(row, 0, f_id, "id")
        sheet.label(row, 1, t_id, "id")
        sheet.formula(
            row,
            2,
            f"IF(ISNUMBER({src}),IF({src}>0,{src},NA()),NA())",
            x,
            "calc:tokens",
        )
        x_cell = a1(row, 2)
        sheet.formula(
            row,
            3,
            f"IF(ISNUMBER({x_cell}),{x_cell}/tokens_per_million*overhead_{sid}*"
            f"{layout.costs_ref(s, i, C_BLENDED)}+{layout.pb('fixed_monthly', i)}+"
            f"{layout.pb('egress_monthly', i)},NA())",
            y,
            "calc:money",
            layout.name(
                f"breakeven_cost_{sid}_{f_id}_{t_id}",
                f"providers '{f_id}' and '{t_id}'",
            ),
        )
        out["points"].append((row, f, t))
        row += 1
    return out


def _lowest_point(
    layout: Layout, sheet: SheetPlan, s: Scenario, row: int, out: dict[str, Any]
) -> int:
    """The lowest eligible break-even as a point: its volume and the cost there.

    The cost is the cheapest eligible per-token row's at that volume (the
    fixed row's is the same there). #N/A when there is none or it is 0.
    """
    from .layout import C_BLENDED, C_EGRESS, C_FIXED

    sid = s.id
    lowest = m.lowest_breakeven(layout.providers, s)
    costs = [m.monthly_cost(p, s, s.base_tokens) for p in layout.providers]
    ok = [m.eligibility(p, s)[0] for p in layout.providers]
    best = m.cheapest_per_token(layout.providers, costs, ok)
    x: Any = NA_VALUE
    y: Any = NA_VALUE
    if lowest is not None and lowest > 0 and best is not None:
        x = lowest
        y = m.monthly_cost(layout.providers[best], s, lowest)
    sheet.label(row, 0, "lowest", "id")
    sheet.label(row, 1, "cheapest per-token", "id")
    low = f"lowest_breakeven_{sid}"
    sheet.formula(
        row, 2, f"IF(ISNUMBER({low}),IF({low}>0,{low},NA()),NA())", x, "calc:tokens"
    )
    x_cell, idx = a1(row, 2), f"cheapest_token_row_{sid}"
    sheet.formula(
        row,
        3,
        f"IF(AND(ISNUMBER({x_cell}),ISNUMBER({idx})),{x_cell}/tokens_per_million*"
        f"overhead_{sid}*INDEX({layout.lookup_area(s, C_BLENDED)},{idx},1)+"
        f"INDEX({layout.lookup_area(s, C_FIXED)},{idx},1)+"
        f"INDEX({layout.lookup_area(s, C_EGRESS)},{idx},1),NA())",
        y,
        "calc:money",
    )
    out["points"].append((row, "Lowest break-even", None))
    return row + 1


def _positive(value: Any) -> bool:
    return (
        isinstance(value, (int, float)) and not isinstance(value, bool) and (value > 0)
    )


def _cheapest_rows(layout: Layout, s: Any, count: int) -> list[int]:
    """Pricebook positions of the ``count`` cheapest eligible rows of ``s``."""
    costs = [m.monthly_cost(p, s, s.base_tokens) for p in layout.providers]
    ok = [m.eligibility(p, s)[0] for p in layout.providers]
    order = m.order(costs, ok)
    return [i for i in order if ok[i]][:count]


def _forecasts(layout: Layout) -> list[Chart]:
    """Cumulative spend of the first scenario, monthly cost of each other one."""
    from .layout import FORECAST

    scenarios = layout.scenarios
    wanted = [(scenarios[0], "cumulative")]
    wanted += [(s, "monthly") for s in scenarios[1:]] or [(scenarios[0], "monthly")]
    charts = []
    shown = min(FORECAST_ROWS, layout.n)
    for s, kind in wanted:
        block = _forecast_series(layout, s, kind)
        if kind == "cumulative":
            title = (
                f"{s.label} forecast: cumulative spend, {shown} cheapest eligible ($)"
            )
            axis = "Cumulative cost ($)"
        else:
            title = (
                f"{s.label} forecast: monthly cost, {shown} cheapest eligible "
                "($ / month)"
            )
            axis = "Monthly cost ($ / month)"
        chart = _chart({"type": "line"}, title)
        for j, r in enumerate(block["rows"]):
            colour = PALETTE[j % len(PALETTE)]
            chart.series.append(
                {
                    "name": [FORECAST, r, 2],
                    "categories": [
                        FORECAST,
                        block["month_row"],
                        block["first_col"],
                        block["month_row"],
                        block["last_col"],
                    ],
                    "values": [
                        FORECAST,
                        r,
                        block["first_col"],
                        r,
                        block["last_col"],
                    ],
                    "line": {"color": colour, "width": 2},
                    "marker": {
                        "type": "circle",
                        "size": 4,
                        "fill": {"color": colour},
                        "border": {"color": colour},
                    },
                }
            )
        chart.options["set_x_axis"] = _axis("Month of the forecast (0 = first)")
        chart.options["set_y_axis"] = _axis(axis, MONEY, major_gridlines=GRID, min=0)
        chart.options["set_legend"] = {"position": "right", "font": FONT}
        charts.append(chart)
    return charts


def _forecast_series(layout: Layout, s: Scenario, kind: str) -> dict[str, Any]:
    """Cells a forecast chart reads, below the Forecast sheet's tables.

    One row for each of the ``FORECAST_ROWS`` first positions of the scenario's
    ranking, so the chart follows edits of prices and gates: the row's costs
    month by month (``kind`` "monthly") or summed to that month
    ("cumulative"), and #N/A (a gap) past the forecast months and where fewer
    rows are eligible.
    """
    from .layout import C_BLENDED, C_EGRESS, C_FIXED, C_ID, C_LABEL, FORECAST, RANKING

    sheet = layout.sheet(FORECAST)
    sid = s.id
    fb = layout.forecast_blocks[sid]
    first_col, last_col = fb["first_col"], fb["last_col"]
    months = last_col - first_col + 1
    month_row, flag_row, vol_row = (
        fb["month_row"],
        fb["month_row"] + 1,
        fb["month_row"] + 2,
    )
    active = min(months, layout.book.forecast_months)
    row = max(r for r, _ in sheet.cells) + 2
    what = "cumulative cost ($)" if kind == "cumulative" else "monthly cost ($ / month)"
    sheet.label(
        row,
        0,
        f"Chart series: {s.label}, {what} of the {FORECAST_ROWS} cheapest eligible "
        "rows as ranked now; #N/A (a gap) past the forecast months",
        "subtitle",
    )
    row += 1
    for col, heading in enumerate(("Position", "Costs row", "Provider")):
        sheet.label(row, col, heading, "header")
    for k in range(months):
        sheet.formula(
            row,
            first_col + k,
            a1(month_row, first_col + k),
            k,
            "calc:int",
        )
    chart_month_row = row
    row += 1
    ranked = _cheapest_rows(layout, s, FORECAST_ROWS)
    rblock = layout.ranking_blocks[sid]
    names = layout.lookup_area(s, C_ID if _use_ids(layout) else C_LABEL)
    rows = []
    for j in range(min(FORECAST_ROWS, layout.n)):
        i = ranked[j] if j < len(ranked) else None
        p = layout.providers[i] if i is not None else None
        rank_cell = ref(RANKING, rblock.first + j, 2, True, True)
        costs_row = ref(RANKING, rblock.first + j, 1, True, True)
        sheet.label(row, 0, f"#{j + 1}", "id")
        sheet.formula(
            row,
            1,
            f'IF(ISNUMBER({rank_cell}),{costs_row},"")',
            i + 1 if i is not None else "",
            "calc:int",
        )
        idx = a1(row, 1, False, True)
        label = (p.id if _use_ids(layout) else p.label) if p is not None else ""
        sheet.formula(
            row,
            2,
            f'IF(ISNUMBER({idx}),INDEX({names},{idx},1),"")',
            label,
            "calc:text",
        )
        values = m.forecast_costs(p, s, active) if p is not None else []
        running = 0.0
        blended = f"INDEX({layout.lookup_area(s, C_BLENDED)},{idx},1)"
        flat = (
            f"(INDEX({layout.lookup_area(s, C_FIXED)},{idx},1)+"
            f"INDEX({layout.lookup_area(s, C_EGRESS)},{idx},1))"
        )
        for k in range(months):
            col = first_col + k
            flag = a1(flag_row, col, True)
            if kind == "cumulative":
                start = a1(vol_row, first_col, True, True)
                volume = f"SUM({start}:{a1(vol_row, col, True)})"
                count = f"({a1(month_row, col, True)}+1)"
            else:
                volume, count = a1(vol_row, col, True), ""
            cost = (
                f"{volume}/tokens_per_million*overhead_{sid}*{blended}+"
                f"{count + '*' if count else ''}{flat}"
            )
            value: Any = NA_VALUE
            if p is not None and k < active:
                running += values[k]
                value = running if kind == "cumulative" else values[k]
            sheet.formula(
                row,
                col,
                f"IF(AND(ISNUMBER({idx}),{flag}=1),{cost},NA())",
                value,
                "calc:money",
            )
        rows.append(row)
        row += 1
    return {
        "rows": rows,
        "month_row": chart_month_row,
        "first_col": first_col,
        "last_col": last_col,
    }


def _multipliers(layout: Layout) -> Chart:
    """Cost in each other scenario over the baseline, per provider."""
    from .layout import MULTIPLIERS

    base = layout.scenarios[0]
    others = layout.scenarios[1:]
    block = layout.mult_block
    last = min(block.last, block.first + MAX_ROWS - 1)
    shown = last - block.first + 1
    names = ", ".join(s.label for s in others)
    chart = _chart(
        {"type": "bar"},
        f"{names}-to-{base.label} cost multiplier per provider (x)",
    )
    name_col = 0 if _use_ids(layout) else 1  # Multipliers: id, provider
    for j, s in enumerate(others):
        chart.series.append(
            {
                "name": f"{s.label} / {base.label} (x)",
                "categories": [MULTIPLIERS, block.first, name_col, last, name_col],
                "values": [MULTIPLIERS, block.first, 5 + 3 * j, last, 5 + 3 * j],
                "fill": {"color": SCENARIO_COLOURS[(j + 1) % len(SCENARIO_COLOURS)]},
                "border": {"none": True},
                "gap": 40,
                "data_labels": {
                    "value": True,
                    "num_format": TIMES_LABEL,
                    "position": "outside_end",
                    "font": FONT,
                },
            }
        )
    chart.options["set_x_axis"] = _axis(
        "Cost multiplier (x the baseline cost)", TIMES, major_gridlines=GRID, min=0
    )
    chart.options["set_y_axis"] = _axis(
        f"Provider, pricebook order{_of(shown, layout.n)}",
        None,
        reverse=True,
        crossing="max",
    )
    if len(others) == 1:
        chart.options["set_legend"] = {"none": True}
    return chart
