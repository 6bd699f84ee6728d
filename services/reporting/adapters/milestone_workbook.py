"""The milestone workbook (目标完成情况 / 各地州市 / 奖励发放) from the API's own documents."""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import xlsxwriter

from services.reporting.adapters.progress_query import DISBURSEMENT_KINDS
from shared.contract.divisions import name_of
from shared.contract.labels_zh import ROLE_ZH, RULE_ZH

TARGETS_SHEET = "目标完成情况"
DIVISIONS_SHEET = "各地州市"
AWARDS_SHEET = "奖励发放"
DISBURSEMENT_SHEET = "奖励兑付"
FUNDING_SHEET = "资金来源"
FUNDING_HEADER = ("资金来源代码", "资金来源", "发放笔数", "净发放金额(元)")
DISBURSEMENT_HEADER = (
    "月份",
    "地州市代码",
    "地州市",
    "应发金额(元)",
    "已审批金额(元)",
    "已取消金额(元)",
    "已支付金额(元)",
    "追回应收金额(元)",
    "已追回金额(元)",
)
TARGETS_HEADER = ("指标", "指标代码", "目标", "完成", "完成率", "统计起", "统计止")
COUNTER_LABELS = {
    "high_tech_certifications": "高新技术企业认定",
    "listings_xjee": "新疆股权交易中心挂牌",
    "listings_neeq": "新三板挂牌",
    "board_transfers": "转板",
    "graduations": "毕业出孵",
}
AWARDS_HEADER = (
    "奖励类型",
    "规则代码",
    "领取方",
    "月份",
    "发放笔数",
    "发放金额(元)",
    "撤销笔数",
    "撤销金额(元)",
    "净发放金额(元)",
)


def flat_counters(counters: dict[str, Any]) -> dict[str, int]:
    return {
        "high_tech_certifications": counters["high_tech_certifications"],
        "listings_xjee": counters["listings"]["XJEE"],
        "listings_neeq": counters["listings"]["NEEQ"],
        "board_transfers": counters["board_transfers"],
        "graduations": counters["graduations"],
    }


@dataclass(frozen=True)
class _Formats:
    head: Any
    count: Any
    pct: Any


def build(
    progress: dict[str, Any],
    divisions: dict[str, Any],
    award_rows: Sequence[dict[str, Any]],
    disbursement_rows: Sequence[dict[str, Any]],
) -> bytes:
    """progress: GET /v1/progress; divisions: GET /v1/progress/divisions (same window);
    award_rows: rule, recipient_role, month, issued, issued_cny, reversed, reversed_cny;
    disbursement_rows: the rows of GET /v1/disbursement."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.set_properties({"title": f"{progress['year']} 年目标完成情况（截至 {progress['as_of']}）"})
    f = _Formats(
        head=book.add_format({"bold": True, "bg_color": "#DDEBE4", "border": 1, "text_wrap": True}),
        count=book.add_format({"num_format": "#,##0"}),
        pct=book.add_format({"num_format": "0.0%"}),
    )
    _targets(book.add_worksheet(TARGETS_SHEET), f, progress)
    _divisions(book.add_worksheet(DIVISIONS_SHEET), f, progress, divisions)
    _awards(book.add_worksheet(AWARDS_SHEET), f, award_rows)
    _disbursement(book.add_worksheet(DISBURSEMENT_SHEET), f, disbursement_rows)
    _funding(book.add_worksheet(FUNDING_SHEET), f, progress)
    book.close()
    return out.getvalue()


def _targets(sheet: Any, f: _Formats, progress: dict[str, Any]) -> None:
    sheet.write_row(0, 0, TARGETS_HEADER, f.head)
    for r, (key, m) in enumerate(progress["metrics"].items(), start=1):
        sheet.write_string(r, 0, m["label_zh"])
        sheet.write_string(r, 1, key)
        if m["target"] is not None:
            sheet.write_number(r, 2, m["target"], f.count)
        sheet.write_number(r, 3, m["actual"], f.count)
        if m["ratio"] is not None:
            sheet.write_number(r, 4, m["ratio"], f.pct)
        sheet.write_string(r, 5, m["period"]["from"])
        sheet.write_string(r, 6, m["period"]["to"])
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 26)
    sheet.set_column(2, 6, 12)
    sheet.freeze_panes(1, 0)


def _divisions(sheet: Any, f: _Formats, progress: dict[str, Any], divisions: dict[str, Any]) -> None:
    metric_keys = list(progress["metrics"])
    labels = [progress["metrics"][k]["label_zh"] for k in metric_keys]
    sheet.write_row(0, 0, ["地州市代码", "地州市", "地级", *labels, *COUNTER_LABELS.values()], f.head)
    width = len(metric_keys) + len(COUNTER_LABELS)
    for r, d in enumerate(divisions["divisions"], start=1):
        sheet.write_string(r, 0, d["division_code"])
        sheet.write_string(r, 1, d["name_zh"])
        sheet.write_string(r, 2, "是" if d["prefecture_level"] else "否")
        values = [d["metrics"][k] for k in metric_keys] + list(flat_counters(d["counters"]).values())
        width = len(values)
        for c, v in enumerate(values, start=3):
            sheet.write_number(r, c, v, f.count)
    sheet.set_column(0, 0, 11)
    sheet.set_column(1, 1, 22)
    sheet.set_column(3, 3 + width, 13)
    sheet.freeze_panes(1, 3)


def _awards(sheet: Any, f: _Formats, award_rows: Sequence[dict[str, Any]]) -> None:
    sheet.write_row(0, 0, AWARDS_HEADER, f.head)
    for r, a in enumerate(award_rows, start=1):
        sheet.write_string(r, 0, RULE_ZH.get(a["rule"], a["rule"]))
        sheet.write_string(r, 1, a["rule"])
        sheet.write_string(r, 2, ROLE_ZH.get(a["recipient_role"], a["recipient_role"]))
        sheet.write_string(r, 3, a["month"].strftime("%Y-%m"))
        for c, v in enumerate(
            (a["issued"], a["issued_cny"], a["reversed"], a["reversed_cny"], a["issued_cny"] - a["reversed_cny"]),
            start=4,
        ):
            sheet.write_number(r, c, v, f.count)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 26)
    sheet.set_column(2, 3, 12)
    sheet.set_column(4, 8, 15)
    sheet.freeze_panes(1, 0)


def _disbursement(sheet: Any, f: _Formats, disbursement_rows: Sequence[dict[str, Any]]) -> None:
    sheet.write_row(0, 0, DISBURSEMENT_HEADER, f.head)
    for r, d in enumerate(disbursement_rows, start=1):
        sheet.write_string(r, 0, d["month"])
        sheet.write_string(r, 1, d["prefecture"])
        sheet.write_string(r, 2, d["name_zh"])
        for c, kind in enumerate(DISBURSEMENT_KINDS, start=3):
            sheet.write_number(r, c, d[f"{kind}_cny"], f.count)
    sheet.set_column(0, 1, 11)
    sheet.set_column(2, 2, 22)
    sheet.set_column(3, 3 + len(DISBURSEMENT_KINDS), 15)
    sheet.freeze_panes(1, 0)


def _funding(sheet: Any, f: _Formats, progress: dict[str, Any]) -> None:
    """Net awards by whose budget pays: the region's (650000) or a prefecture's plan."""
    sheet.write_row(0, 0, FUNDING_HEADER, f.head)
    funded = sorted(((progress.get("awards") or {}).get("by_funding") or {}).items())
    for r, (funding, v) in enumerate(funded, start=1):
        sheet.write_string(r, 0, funding)
        sheet.write_string(r, 1, "自治区" if funding == "650000" else name_of(funding))
        sheet.write_number(r, 2, v["payouts"], f.count)
        sheet.write_number(r, 3, v["net_amount_cny"], f.count)
    sheet.set_column(0, 1, 14)
    sheet.set_column(2, 3, 15)
