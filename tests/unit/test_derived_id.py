"""Derived ids are the platform's idempotence keys: the same parts must give the same id
in every version of the code, or a replay after an upgrade would write its events again."""

import uuid
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from shared.contract.events import DERIVED_NAMESPACE, derived_id


def test_an_intake_result_id_is_the_one_every_earlier_version_derived() -> None:
    assert derived_id("intake-result", "xj.intake.v1", 3, 42) == uuid.UUID("4bfc842c-5b15-5893-b4c5-7ab06b80c4bd")
    assert derived_id("新疆", date(2015, 1, 1), None) == uuid.UUID("f420219c-0cd9-56e6-823d-519bf7fb9324")


@given(st.lists(st.one_of(st.text(), st.integers(), st.dates(), st.uuids(), st.none()), max_size=6))
def test_it_is_uuid5_of_the_parts_joined_by_a_bar(parts: list[object]) -> None:
    expected = uuid.uuid5(DERIVED_NAMESPACE, "|".join(str(p) for p in parts))
    derived = derived_id(*parts)
    assert derived == expected
    assert (derived.version, derived.variant) == (5, uuid.RFC_4122)
