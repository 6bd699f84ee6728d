"""Chinese names of the contract's enums, for explanations, workbooks and exports."""

from typing import Final

from shared.contract.enums import RecipientRole, Rule

RULE_ZH: Final[dict[str, str]] = {
    Rule.HIGH_TECH_CERTIFICATION: "高新技术企业认定奖励",
    Rule.EQUITY_LISTING: "股权挂牌奖励",
    Rule.BOARD_TRANSFER: "转板奖励",
}
ROLE_ZH: Final[dict[str, str]] = {RecipientRole.OPERATOR: "孵化器运营方", RecipientRole.ENTERPRISE: "入孵企业"}
STATUS_ZH: Final[dict[str, str]] = {"issued": "已发放", "reversed": "已撤销"}
# What a confirmation line or an approval came to, and what an audit row records, in words.
OUTCOME_ZH: Final[dict[str, str]] = {
    "approved": "已批准",
    "already_approved": "此前已批准",
    "not_owed": "已不应付（撤销或取消）",
    "held_for_recall": "暂缓：追回中",
    "unknown_payout": "无此付款",
    "paid": "已付款",
    "paid_after_recall": "追回后仍付款：已立追回",
    "second_debit": "重复扣款：已立追回",
    "returned": "已退回",
    "settled": "追回已结清",
    "already_paid": "此前已记付款",
    "already_returned": "此前已记退回",
    "already_settled": "此前已记结清",
    "return_held": "退回待第二人确认",
    "settlement_held": "还款待第二人确认",
    "already_held": "此前已暂挂待确认",
    "hold_rejected": "暂挂行被驳回",
    "cancelled": "已取消的付款",
    "not_released": "未放行的付款",
    "not_recalled": "未追回的付款",
    "no_clawback": "无追回记录",
    "clawback_not_named": "未注明追回编号",
    "amount_mismatch": "金额不符",
    "invalid_line": "无法读取的行",
}
ACTION_ZH: Final[dict[str, str]] = {
    "payout.approve": "批准付款",
    "payout.cancel": "取消付款",
    "payout.paid": "记付款",
    "payout.recall": "请求追回",
    "payout.returned": "记退回",
    "payout.second_debit": "记重复扣款",
    "batch.prepare": "准备批次",
    "batch.approve": "放行批次",
    "batch.void": "作废批次",
    "confirmation.import": "导入银行回单",
    "exception.resolve": "处理异常",
    "exception.confirm": "确认异常处理",
    "bank_line.hold": "暂挂回单行待确认",
    "bank_line.reject": "驳回暂挂回单行",
    "clawback.raise": "立追回",
    "clawback.settle": "追回结清",
    "policy.draft": "起草政策版本",
    "policy.adopt": "采纳政策版本",
    "policy.from-env": "由原配置生成政策版本1",
}
