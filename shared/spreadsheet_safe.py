"""CSV lines a spreadsheet opens as text: a cell that starts like a formula (=, +, -, @, a
tab or a carriage return) is prefixed with an apostrophe, so an auditor's spreadsheet never
runs what a person's name or a note carried in (OWASP "CSV injection")."""

import csv
import io
from collections.abc import Iterable

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, (int, float)) or not text.startswith(_FORMULA_START):
        return text  # numbers stay numbers, negative ones included
    return "'" + text


def csv_line(values: Iterable[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([cell(v) for v in values])
    return out.getvalue()
