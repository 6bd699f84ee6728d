"""The life of a payout (tests/unit/test_payout_life.py) replayed against the real
database through the use cases: for a few hundred random sequences of approve, prepare,
void, release, reverse, the bank paying (again), returning, the recipient paying back,
and a second person confirming or rejecting what was held, the books in PostgreSQL equal
the pure model's after every step, and the money that left minus the money that came
back is what the books say the recipient holds."""

import dataclasses
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import pytest

from services.awards.audit.domain.audit import Actor
from services.awards.disbursement.adapters import disbursement_books as books
from services.awards.disbursement.service_layer import disbursement
from services.awards.ledger.adapters import ledger
from services.awards.ledger.domain.award_rules import OwedPayout
from services.awards.ledger.domain.consequences import PayoutsReversed
from services.awards.ledger.domain.reconcile import Changes, Issue, LedgerPayout, Reversal
from services.awards.treasury.adapters import bank_books
from services.awards.treasury.domain.confirmations import ConfirmationLine, PayoutBook
from services.awards.treasury.service_layer import confirmations, held_bank_lines
from shared.contract.enums import RecipientRole, Rule
from shared.contract.errors import NotAllowed
from shared.messaging import outbox
from shared.process import db
from tests.support.stack import ROOT, Infra
from tests.unit.test_payout_life import AMOUNT, PayoutLife

pytestmark = pytest.mark.integration
MIGRATIONS = ROOT / "services" / "awards" / "migrations"
ALICE = Actor("alice", "Alice", ("approver",), "replay")
BOB = Actor("bob", "Bob", ("treasurer",), "replay")
CAROL = Actor("carol", "Carol", ("treasurer",), "replay")
DAVE = Actor("dave", "Dave", ("approver",), "replay")
EXAMPLES = 300
HEADER = "payout_id,direction,amount_cny,value_date,reference,clawback_id\n"


@pytest.fixture
async def pool(infra: Infra, schema: str) -> AsyncIterator[asyncpg.Pool]:
    await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)
    p = await db.create_pool(infra.dsn, schema=schema, max_size=2)
    yield p
    await p.close()


@dataclasses.dataclass
class Replay:
    """One payout in the database, driven beside the pure model."""

    pool: asyncpg.Pool
    model: PayoutLife
    uscc: str
    payout: LedgerPayout
    batch_id: uuid.UUID | None = None
    held_ids: dict[str, int] = dataclasses.field(default_factory=dict)  # reference -> held_id
    files: int = 0

    async def issue(self) -> None:
        owed = OwedPayout(
            Rule.HIGH_TECH_CERTIFICATION,
            RecipientRole.ENTERPRISE,
            self.uscc,
            "企业",
            "INC-R",
            AMOUNT,
            self.payout.basis_event_id,
            date(2016, 9, 1),
            "certified while incubated",
        )
        async with self.pool.acquire() as conn, conn.transaction():
            await ledger.write_changes(conn, [(self.uscc, Changes((Issue(self.payout.payout_id, owed),), (), (), ()))])

    async def confirm(self, line: str) -> str:
        answer = await confirmations.import_confirmation(self.pool, CAROL, (HEADER + line).encode())
        (said,) = answer["lines"]
        if "held_id" in said:
            self.held_ids[line.split(",")[4]] = said["held_id"]
        return str(said["outcome"])

    async def step(self, rule: str, n: int, before: PayoutBook, held: list[ConfirmationLine]) -> None:
        """Do in the database what the model just did (`before`: its books before the step)."""
        pid, m = self.payout.payout_id, self.model
        if rule == "approve":
            results = await disbursement.approve_payouts(self.pool, ALICE, [pid])
            assert [r["outcome"] for r in results] == ["approved"]
        elif rule == "prepare":
            self.batch_id = uuid.UUID((await disbursement.prepare_batch(self.pool, BOB, 10, [pid]))["batch_id"])
        elif rule == "void":
            assert self.batch_id is not None
            assert (await disbursement.void_batch(self.pool, BOB, self.batch_id))["voided_by"] == "bob"
        elif rule == "release":
            assert self.batch_id is not None
            assert (await disbursement.release_batch(self.pool, ALICE, self.batch_id))["released"]
        elif rule == "reverse":
            reversal = Reversal(self.payout, "OUTSIDE_WINDOW", "graduated too early")
            async with self.pool.acquire() as conn, conn.transaction():
                await ledger.write_changes(conn, [(self.uscc, Changes((), (reversal,), (), ()))])
                reversed_ = PayoutsReversed(((self.uscc, reversal),))
                await outbox.enqueue(conn, await disbursement.after_reversals(conn, reversed_))
        elif rule == "bank_pays":
            assert await self.confirm(f"{pid},paid,{AMOUNT},2016-10-08,BANK-{n},\n") == m.outcomes[-1]
        elif rule == "bank_returns":
            assert await self.confirm(f"{pid},returned,{AMOUNT},2016-10-09,RET-{n},\n") == m.outcomes[-1]
        elif rule == "recipient_pays_back":
            owed = [
                c for c in before.clawbacks if c.open and c.held_reference is None
            ]  # the model's choice, made the same way
            claw = owed[n % len(owed)]
            named = claw.clawback_id if len(owed) > 1 else ""  # old files name none
            # Another file each time (its value date): after a rejection the bank's next
            # file is held again, while the same file again would hold nothing new.
            self.files += 1
            day = date(2017, 1, 1) + timedelta(days=self.files)
            line = f"{pid},recovered,{claw.amount_cny},{day},BACK-{claw.clawback_id},{named}\n"
            assert await self.confirm(line) == "settlement_held"
        elif rule == "second_person_confirms":
            with pytest.raises(NotAllowed):  # four eyes: the importer cannot
                await held_bank_lines.confirm(self.pool, CAROL, self.held_ids[held[n % len(held)].reference])
            done = await held_bank_lines.confirm(self.pool, DAVE, self.held_ids[held[n % len(held)].reference])
            assert (done["status"], done["outcome"]) == ("confirmed", m.outcomes[-1])
        elif rule == "second_person_rejects":
            done = await held_bank_lines.reject(self.pool, DAVE, self.held_ids[held[n % len(held)].reference], "no")
            assert done["status"] == "rejected"

    async def books(self) -> PayoutBook:
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await books.lock_payouts(conn, [self.payout.payout_id])
            return (await bank_books.books_of(conn, rows))[self.payout.payout_id]


# A second person mostly confirms what the bank said; a reversal is weighed apart.
WEIGHTS = {"second_person_confirms": 6, "second_person_rejects": 2}
PARAMETRISED = frozenset(
    {"bank_pays", "bank_returns", "recipient_pays_back", "second_person_confirms", "second_person_rejects"}
)


def enabled(m: PayoutLife) -> list[str]:
    """The rules of the pure machine whose preconditions hold now."""
    b = m.book
    rules = []
    if b.stage.value == "owed" and b.reversal_reason is None:
        rules.append("approve")
    if b.stage.value == "approved":
        rules.append("prepare")
    if b.stage.value == "batched" and not b.released:
        rules += ["void", "release"]
    if b.reversal_reason is None:
        rules.append("reverse")
    if b.released and not m.bank_returned:
        rules.append("bank_pays")
    if b.released and not m.bank_paid and not m.bank_returned:
        rules.append("bank_returns")
    if any(c.open and c.held_reference is None for c in b.clawbacks):
        rules.append("recipient_pays_back")
    if m.held:
        rules += ["second_person_confirms", "second_person_rejects"]
    return rules


def same(db_book: PayoutBook, model: PayoutBook) -> None:
    assert (db_book.stage, db_book.released, db_book.payments, db_book.returned_reference) == (
        model.stage,
        model.released,
        model.payments,
        model.returned_reference,
    )
    assert (db_book.reversal_reason is None) == (model.reversal_reason is None)
    assert db_book.held_return == model.held_return
    key = [(c.clawback_id, c.amount_cny, c.settled_reference, c.held_reference) for c in model.clawbacks]
    assert sorted(
        (c.clawback_id, c.amount_cny, c.settled_reference, c.held_reference) for c in db_book.clawbacks
    ) == sorted(key)


async def test_random_lives_of_a_payout_leave_the_same_books_in_the_database(pool: asyncpg.Pool) -> None:
    rng = random.Random(2015)
    steps = 0
    seen: Counter[str] = Counter()
    for _ in range(EXAMPLES):
        uscc = f"91650102{uuid.uuid4().hex[:10].upper()}"
        payout = LedgerPayout(
            uuid.uuid4(),
            Rule.HIGH_TECH_CERTIFICATION,
            RecipientRole.ENTERPRISE,
            uscc,
            "INC-R",
            AMOUNT,
            uuid.uuid4(),
            date(2016, 9, 1),
            True,
        )
        model = PayoutLife()
        model.book = PayoutBook(payout.payout_id, model.book.stage, AMOUNT, released=False)
        replay = Replay(pool, model, uscc, payout)
        await replay.issue()
        for _ in range(rng.randint(1, 14)):
            rules = enabled(model)
            if not rules:
                break  # reversed while only owed: nothing more can happen
            # A reversal before release ends most lives early; after release it starts a recall.
            weights = [WEIGHTS.get(r, 4) if r != "reverse" else (6 if model.book.released else 1) for r in rules]
            rule, n, before, held = rng.choices(rules, weights)[0], rng.randint(0, 3), model.book, list(model.held)
            if rule in PARAMETRISED:
                getattr(model, rule)(n)
            else:
                getattr(model, rule)()
            await replay.step(rule, n, before, held)
            model.the_books_follow_the_money()
            same(await replay.books(), model.book)
            steps += 1
        seen.update(model.outcomes)
    # The walks reach every ending the issue names, many times over.
    assert steps > EXAMPLES * 3
    endings = ("paid", "paid_after_recall", "second_debit", "return_held", "returned", "settlement_held", "settled")
    for outcome in (*endings, "already_paid"):
        assert seen[outcome] >= 10, (outcome, seen)
