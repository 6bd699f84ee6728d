"""Chinese names of the contract's enums, for explanations, workbooks and exports."""

from typing import Final

from shared.enums import RecipientRole, Rule

RULE_ZH: Final[dict[str, str]] = {
    Rule.HIGH_TECH_CERTIFICATION: "高新技术企业认定奖励",
    Rule.EQUITY_LISTING: "股权挂牌奖励",
    Rule.BOARD_TRANSFER: "转板奖励",
}
ROLE_ZH: Final[dict[str, str]] = {RecipientRole.OPERATOR: "孵化器运营方", RecipientRole.ENTERPRISE: "入孵企业"}
STATUS_ZH: Final[dict[str, str]] = {"issued": "已发放", "reversed": "已撤销"}
