"""Text a spreadsheet opens as text: a cell that starts like a formula (=, +, -, @, a tab or
a carriage return) is prefixed with an apostrophe, so an auditor's or a treasurer's
spreadsheet never runs what a name or a note carried in (OWASP "CSV injection")."""

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: Any) -> Any:
    """A string that would start a formula, made text; anything else unchanged."""
    return "'" + cell if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


def csv_line(values: Iterable[object]) -> str:
    """One CSV line (CRLF) of inert cells; None is an empty cell."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(["" if v is None else inert(v) for v in values])
    return out.getvalue()
