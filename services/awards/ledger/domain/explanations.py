"""Bilingual sentences (Chinese, then English) naming the dates that were compared."""

from datetime import date
from typing import TYPE_CHECKING

from shared.contract.enums import Rule
from shared.contract.labels_zh import RULE_ZH

if TYPE_CHECKING:
    from services.awards.policy.domain.policy import PolicyVersion

_WHAT_ZH = {
    "certified": "高新技术企业认定",
    "listed on XJEE": "在新疆股权交易中心挂牌",
    "listed on NEEQ": "在全国中小企业股份转让系统挂牌",
    "transferred from XJEE to NEEQ": "由新疆股权交易中心转板至新三板",
}


def _sentence(what: str) -> str:
    # str.capitalize() would lower the rest: "listed on XJEE" -> "Listed on xjee".
    return what[:1].upper() + what[1:]


def _zh(what: str) -> str:
    return _WHAT_ZH.get(what, what)


def before_policy(what: str, on: date, first: "PolicyVersion | None") -> str:
    if first is None:
        return (
            f"{_zh(what)}日期 {on}，尚无生效的政策版本，不予奖励。"
            f" The enterprise was {what} on {on}; no policy version is in force; no award."
        )
    effective = first.effective_from
    return (
        f"{_zh(what)}日期 {on} 早于{first.label()}的生效日 {effective}，不予奖励。"
        f" The enterprise was {what} on {on}, before {first.label_en()} took effect on {effective}; no award."
    )


def under_version(granted: str, version: "PolicyVersion") -> str:
    """A grant's explanation with the version that rates it and the document it comes from."""
    if version.jurisdiction == "650000":
        return f"{granted} 依据{version.label()}。 Under {version.label_en()}."
    return (
        f"{granted} 另由{version.label()}追加奖励，资金由该地州市承担。"
        f" Added under {version.label_en()}, funded by that prefecture."
    )


def already_awarded(what: str, on: date, first: date) -> str:
    return (
        f"该项奖励已按 {first} 的事实发放，{on} 的{_zh(what)}不再奖励。"
        f" This award was already granted for the fact of {first}; being {what} again on {on} earns nothing more."
    )


def not_incubated(what: str, on: date, first_admission: date | None) -> str:
    if first_admission is None:
        return (
            f"{_zh(what)}日期 {on}，该企业从未入驻孵化器，不予奖励。"
            f" {_sentence(what)} on {on}, but the enterprise was never admitted to an incubator; no award."
        )
    return (
        f"{_zh(what)}日期 {on} 早于首次入驻日期 {first_admission}，不予奖励。"
        f" {_sentence(what)} on {on}, before its first admission on {first_admission}; no award."
    )


def outside_window(what: str, on: date, graduated: date, end: date, years: int) -> str:
    return (
        f"{_zh(what)}日期 {on}，毕业日期 {graduated}，毕业后{years}年期限截至 {end}，已超出期限，不予奖励。"
        f" {_sentence(what)} {on}, graduated {graduated}, the {years}-year window ended {end}; no award."
    )


def xjee_not_awarded(on: date, basis: str | None) -> str:
    if basis is None:
        return (
            f"{on} 转板，但该企业在新疆股权交易中心的挂牌未获挂牌奖励，不予转板奖励。"
            f" Transferred on {on}, but no XJEE listing of the enterprise received the listing award; no award."
        )
    return (
        f"{on} 转板，但挂牌奖励的依据是{_zh(basis)}而非新疆股权交易中心挂牌，不予转板奖励。"
        f" Transferred on {on}, but the listing award was for being {basis}, not an XJEE listing; no award."
    )


def transferred_before_listing(on: date, listed: date) -> str:
    return (
        f"{on} 转板，早于获得挂牌奖励的新疆股权交易中心挂牌日期 {listed}，不予转板奖励。"
        f" Transferred on {on}, before the awarded XJEE listing of {listed}; no award."
    )


def granted(rule: Rule, *, what: str, on: date, incubator: str, admitted: date, graduated: date | None) -> str:
    stint_zh = f"{admitted} 入驻孵化器 {incubator}" + (f"，{graduated} 毕业" if graduated else "，仍在孵")
    stint_en = f"admitted to incubator {incubator} on {admitted}" + (
        f", graduated {graduated}" if graduated else ", still incubated"
    )
    return (
        f"{_zh(what)}日期 {on}（{stint_zh}），给予{RULE_ZH[rule]}。"
        f" {_sentence(what)} on {on} ({stint_en}): {rule} granted."
    )
