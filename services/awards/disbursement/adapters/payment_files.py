"""The payment batch files handed to the treasury: CSV and XLSX, one line per payout and
a TOTAL line, each stored with its SHA-256 so the treasury can check what it received."""

import csv
import hashlib
import io
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg
import xlsxwriter

from shared.contract.spreadsheet_safe import inert

HEADER = (
    "batch_id",
    "line",
    "payout_id",
    "recipient_uscc",
    "recipient_name",
    "amount_cny",
    "enterprise_uscc",
    "rule",
    "recipient_role",
    "funding",
)


def lines(batch_id: uuid.UUID, payouts: Sequence[asyncpg.Record]) -> list[list[str | int]]:
    """The file's rows after the header, ordered by recipient then payout."""
    ordered = sorted(payouts, key=lambda p: (p["recipient_uscc"], p["payout_id"]))
    rows: list[list[str | int]] = [
        [
            str(batch_id),
            n,
            str(p["payout_id"]),
            p["recipient_uscc"],
            inert(p["recipient_name"]),  # free text: never a formula in the treasury's spreadsheet
            p["amount_cny"],
            p["enterprise_uscc"],
            p["rule"],
            p["recipient_role"],
            p["funding"],
        ]
        for n, p in enumerate(ordered, start=1)
    ]
    total = sum(p["amount_cny"] for p in payouts)
    rows.append([str(batch_id), "TOTAL", "", "", f"{len(payouts)} payouts", total, "", "", "", ""])
    return rows


def render(batch_id: uuid.UUID, payouts: Sequence[asyncpg.Record], prepared_at: datetime) -> dict[str, bytes]:
    rows = lines(batch_id, payouts)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"title": f"payment batch {batch_id}", "created": prepared_at.replace(tzinfo=None)})
    sheet = book.add_worksheet("payments")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, HEADER, bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, int):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, value)
    sheet.set_column(0, 2, 38)
    sheet.set_column(3, 4, 24)
    book.close()
    return {"csv": text.getvalue().encode(), "xlsx": out.getvalue()}


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
