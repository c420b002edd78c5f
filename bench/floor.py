"""The floor: write a workbook's cells with bare XlsxWriter calls, nothing else.

    python bench/floor.py [--raw-formulas] PLAN.pickle OUT.xlsx

``PLAN.pickle`` is a plan that ``bench/run.py`` laid out and flattened into
plain Python data beforehand (see ``flatten_plan`` there): every cell as the
XlsxWriter call that writes it, with the same formula text, cached value and
format as ``infercost build`` gives it, and the same charts (with their cached
data), defined names, validations, colour scales and page setup. This script
imports neither infercost nor anything but XlsxWriter: no pricebook, no model,
no checks. What it takes is the least any program needs to write that file
with XlsxWriter, the floor against which ``build`` is measured. The workbook
options are the build's (``constant_memory`` among them); ``bench/run.py``
checks that the floor's file holds the same parts as the build's.

``--raw-formulas`` also skips XlsxWriter's rewriting of formulas, as
``infercost build`` does (see :class:`RawFormulas`): the floor of the same
technique, against which what infercost adds around writing shows.

Prints one JSON line: ``load_seconds`` (reading the pickle, which a real
program would not need and ``run.py`` subtracts) and ``write_seconds``.
"""

from __future__ import annotations

import json
import pickle
import sys
import time

import xlsxwriter
from xlsxwriter.worksheet import Worksheet


class RawFormulas(Worksheet):
    """Writes each formula as given: no search for functions to prefix.

    XlsxWriter runs regular expressions over every formula to add ``_xlfn.``
    to functions newer than Excel 2007; ``infercost build`` skips that (its
    formulas use none), and ``--raw-formulas`` lets the floor skip it too.
    """

    def _prepare_formula(self, formula, expand_future_functions=False):
        return formula[1:] if formula.startswith("=") else formula


def write(data: dict, path: str, raw_formulas: bool = False) -> None:
    """Write the flattened plan ``data`` to ``path``."""
    workbook = xlsxwriter.Workbook(path, data["options"])
    worksheet_class = RawFormulas if raw_formulas else None
    workbook.set_properties(data["properties"])
    workbook.set_calc_mode("auto")
    formats = [workbook.add_format(props) for props in data["formats"]]
    sheets = {}
    for sheet in data["sheets"]:
        ws = workbook.add_worksheet(sheet["title"], worksheet_class=worksheet_class)
        sheets[sheet["title"]] = ws
        for col, width in sheet["widths"]:
            ws.set_column(col, col, width)
        for row, col, kind, value, cached, fmt in sheet["cells"]:
            if kind == "f":
                ws.write_formula(row, col, value, formats[fmt], cached)
            elif kind == "n":
                ws.write_number(row, col, value, formats[fmt])
            elif kind == "s":
                ws.write_string(row, col, value, formats[fmt])
            elif kind == "b":
                ws.write_boolean(row, col, value, formats[fmt])
            elif kind == "u":
                ws.write_url(row, col, value, formats[fmt], value)
            elif kind == "r":
                ws.set_row(row, value)
            else:
                ws.write_blank(row, col, None, formats[fmt])
        for first_row, first_col, last_row, last_col, options in sheet["validations"]:
            ws.data_validation(first_row, first_col, last_row, last_col, options)
        for first_row, first_col, last_row, last_col, options in sheet["scales"]:
            if "format" in options:
                options = {**options, "format": workbook.add_format(options["format"])}
            ws.conditional_format(first_row, first_col, last_row, last_col, options)
        if sheet["freeze"]:
            ws.freeze_panes(*sheet["freeze"])
        if sheet.get("repeat_rows") is not None:
            ws.repeat_rows(0, sheet["repeat_rows"])
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_paper(9)
        ws.hide_gridlines(data["gridlines"])
        ws.set_header(data["header"], {"scale_with_doc": False})
        ws.set_footer(data["footer"])
        ws.protect("", data["protection"])
        if sheet["hidden"]:
            ws.very_hidden()
    for name, formula in data["names"]:
        workbook.define_name(name, formula)
    for chart in data["charts"]:
        obj = workbook.add_chart(chart["type"])
        for series in chart["series"]:
            obj.add_series(series)
        for method, argument in chart["calls"]:
            if argument is None:
                getattr(obj, method)()
            else:
                getattr(obj, method)(argument)
        sheets[chart["sheet"]].insert_chart(chart["anchor"], obj, chart["insert"])
    for title, rows in data["page_breaks"]:
        sheets[title].set_h_pagebreaks(rows)
    workbook.close()


def main(argv: list[str]) -> int:
    raw = "--raw-formulas" in argv
    argv = [a for a in argv if a != "--raw-formulas"]
    if len(argv) != 2:
        print(
            "usage: python bench/floor.py [--raw-formulas] PLAN.pickle OUT.xlsx",
            file=sys.stderr,
        )
        return 2
    start = time.perf_counter()
    with open(argv[0], "rb") as handle:
        data = pickle.load(handle)
    loaded = time.perf_counter()
    write(data, argv[1], raw)
    done = time.perf_counter()
    print(json.dumps({"load_seconds": loaded - start, "write_seconds": done - loaded}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
