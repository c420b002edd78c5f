"""infercost: LLM inference cost workbooks from YAML pricebooks.

The package reads as the model: :mod:`generator.pricebook` loads and validates
pricebooks, :mod:`generator.model` computes costs, ranks and break-evens,
:mod:`generator.layout` places every cell of the workbook, :mod:`generator.writer`
writes it with XlsxWriter, :mod:`generator.verify` checks a workbook against the
model, and :mod:`generator.cli` is the thin command line over all of it.
"""

__version__ = "0.1.0"
