"""The audit export's lines: formula-looking text made inert, numbers left as numbers."""

from services.awards.audit.domain.audit import AUDIT_CSV_COLUMNS
from shared.contract.spreadsheet_safe import csv_line


def test_a_line_keeps_numbers_and_makes_formulas_text() -> None:
    line = csv_line([7, -5, None, '=HYPERLINK("http://x")', "@SUM(A1)", "+1", "\tx", "银行, 备注", "plain"])
    assert line == '7,-5,,"\'=HYPERLINK(""http://x"")",\'@SUM(A1),\'+1,\'\tx,"银行, 备注",plain\r\n'


def test_the_audit_columns_are_the_entry_fields_in_order() -> None:
    assert csv_line(AUDIT_CSV_COLUMNS) == (
        "seq,at,actor,actor_name,roles,action,subject,detail,request_id,client,method,path\r\n"
    )
