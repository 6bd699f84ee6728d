"""E2e tests share one stack for the session. Some read ledger-wide totals (the policy
office's exports and what-if); others seed whole random histories (up to 2018, some
without registrations). The seeding modules run after the rest, as they did when they
were called integration tests, so a ledger-wide total never sees another test's history."""

import pytest

SEED_WHOLE_HISTORIES = (
    "test_awards_exactly_once",
    "test_intake_results",
    "test_redrive",
    "test_registration_delivery",
    "test_registration_errors",
    "test_registration_hostile",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def seeds(item: pytest.Item) -> bool:
        return item.path.parent.name == "e2e" and item.path.stem in SEED_WHOLE_HISTORIES

    items.sort(key=seeds)  # stable: the order within each group stays
