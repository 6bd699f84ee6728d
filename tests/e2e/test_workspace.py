"""The office's workspace in headless Chromium: approvals (filter, select all that
match, preview, approve in one action; the refusal when the set changed; an explanation; a
phone-sized run; a reader sees no Approve button and is refused anyway), treasury (prepare,
release as another person, download, a confirmation answered line by line, an exception
resolved by two people), the audit viewer and its export, the development sign-in form,
and no page reaching outside the platform."""

import csv
import io
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from shared.contract import topics
from tests.support.auth import READER
from tests.support.browser import ARTIFACTS, chromium_browser, signed_in_as
from tests.support.disbursement import (
    ALICE,
    BOB,
    CAROL,
    DIVISION,
    approve,
    awarded,
    awarded_many,
    call,
    confirm,
    graduated_early,
    owed,
    released_batch,
)
from tests.support.http import eventually
from tests.support.kafka_io import publish
from tests.support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PAGES = ("/approvals", "/treasury", "/lookup", "/audit", "/policy", "/sign-in")
PHONE = {"width": 390, "height": 844}


async def open_page(browser: Any, url: str, who: dict[str, str] | None, viewport: dict[str, int] | None = None) -> Any:
    """A new person's tab (its own sessionStorage) on `url`, signed in as `who`, once the page is ready."""
    context = await browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, accept_downloads=True)
    page = await context.new_page()
    await page.goto(signed_in_as(url, who) if who else url)
    await page.wait_for_selector("body[data-ready=true]", timeout=15_000)
    return page


async def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name))


async def filter_by(page: Any, q: str) -> str:
    await page.fill("#q", q)
    await page.click("#filters button[type=submit]")
    await page.wait_for_selector(f"#summary:has-text('“{q}”')", timeout=15_000)
    return str(await page.inner_text("#summary"))


async def test_an_officer_filters_selects_all_that_match_and_approves_fifty_in_one_action(stack: Stack) -> None:
    tag, _ = await awarded_many(stack, 25)
    ids = [p["payout_id"] for p in (await owed(stack, q=tag, limit=100))["payouts"]]
    async with chromium_browser() as browser:
        page = await open_page(browser, f"{stack.url('awards')}/approvals", ALICE)
        assert await page.inner_text("[data-who]") == "Alice · approver"
        summary = await filter_by(page, tag)
        assert summary.startswith("符合条件 50 笔 payouts match · 合计 total ¥5,000,000")
        assert await page.locator("#owed tbody tr[data-payout-id]").count() == 50
        first_row = page.locator("#owed tbody tr[data-payout-id]").first
        assert "高新技术企业认定奖励" in await first_row.inner_text()
        await shot(page, "workspace-approvals.png")
        await page.click("#select-all-matching")
        assert await page.inner_text("#selection") == "已选全部符合条件的 50 笔 · ¥5,000,000 (all that match)"
        await page.click("#approve")
        asked = (await page.inner_text("#panel [data-ask-count]"), await page.inner_text("#panel [data-ask-total]"))
        await shot(page, "workspace-approvals-confirm.png")
        await page.click("#panel [data-yes]")
        await page.wait_for_selector("#panel [data-approved]", timeout=30_000)
        told = await page.inner_text("#panel")
    assert asked == ("50", "¥5,000,000")
    assert told.startswith("已批准 50 笔 approved · ¥5,000,000")
    assert (await owed(stack, q=tag))["count"] == 0
    trail = await call(stack, "GET", "/v1/audit", READER, params={"action": "payout.approve", "limit": 1000})
    mine = [e for e in trail.json()["entries"] if e["subject"] in ids]
    assert sorted(e["subject"] for e in mine) == sorted(ids)
    assert {(e["actor"], e["path"]) for e in mine} == {("alice", "/v1/approvals")}
    assert len({e["request_id"] for e in mine}) == 1  # one action


async def test_the_approval_of_all_is_refused_when_one_was_reversed_after_the_preview(stack: Stack) -> None:
    tag, made = await awarded_many(stack, 3)
    async with chromium_browser() as browser:
        page = await open_page(browser, f"{stack.url('awards')}/approvals", ALICE)
        assert (await filter_by(page, tag)).startswith("符合条件 6 笔 payouts match · 合计 total ¥600,000")
        await page.click("#select-all-matching")
        await page.click("#approve")
        assert await page.inner_text("#panel [data-ask-total]") == "¥600,000"
        uscc, operator, inc = made[0]
        await publish(stack.bootstrap, [graduated_early(uscc, inc, operator, DIVISION)], topic=topics.ENTERPRISE_EVENTS)
        await eventually(lambda: owed(stack, q=tag), lambda d: d["count"] == 4)
        await page.click("#panel [data-yes]")
        await page.wait_for_selector("#panel.refused", timeout=15_000)
        refused = await page.inner_text("#panel")
        await page.click("#look-again")
        await page.wait_for_selector("#summary [data-count]:has-text('4')", timeout=15_000)
    assert refused.startswith(
        "未批准 Nothing was approved. 情况已有变化 Things have changed — the filter now matches 4 payouts totalling "
        "400,000 CNY, not the 6 totalling 600,000 CNY you saw; nothing was approved: look again and confirm"
    )
    assert ((await owed(stack, q=tag))["count"], (await owed(stack, q=tag))["total_cny"]) == (4, 400_000)


async def test_on_a_phone_an_officer_reads_why_a_payout_is_owed_and_approves_two_chosen(stack: Stack) -> None:
    uscc, _, payouts, _ = await awarded(stack, "653101")
    record = (await call(stack, "GET", f"/v1/enterprises/{uscc}/awards", READER)).json()
    explanation = next(p["explanation"] for p in record["payouts"] if p["payout_id"] == payouts[0]["payout_id"])
    async with chromium_browser() as browser:
        page = await open_page(browser, f"{stack.url('awards')}/approvals", ALICE, PHONE)
        assert (await filter_by(page, uscc)).startswith("符合条件 2 笔 payouts match · 合计 total ¥200,000")
        row = page.locator(f'tr[data-payout-id="{payouts[0]["payout_id"]}"]')
        await row.locator("button.why").click()
        why = await page.locator("#owed tr.explanation").inner_text(timeout=15_000)
        for p in payouts:
            await page.locator(f'tr[data-payout-id="{p["payout_id"]}"] input.select').check()
        assert await page.inner_text("#selection") == "已选 2 笔 · ¥200,000 selected"
        await shot(page, "workspace-approvals-phone.png")
        await page.click("#approve")
        await page.click("#panel [data-yes]")
        await page.wait_for_selector("#panel [data-approved]", timeout=15_000)
        told = await page.inner_text("#panel")
        width = await page.evaluate("document.documentElement.scrollWidth")
    assert why.endswith(explanation) and "高新技术企业认定奖励" in why
    assert told.startswith("已批准 2 笔 approved · ¥200,000")
    assert width <= PHONE["width"]  # nothing wider than the phone: no sideways scrolling of the page
    stage = await call(stack, "GET", "/v1/disbursement/payouts", READER, params={"stage": "approved", "limit": 1000})
    assert {p["payout_id"] for p in stage.json()["payouts"]} >= {p["payout_id"] for p in payouts}


async def test_a_reader_sees_no_approve_button_and_is_refused_if_it_calls_the_action_anyway(stack: Stack) -> None:
    uscc, _, payouts, _ = await awarded(stack, "650203")
    target = payouts[0]["payout_id"]
    async with chromium_browser() as browser:
        page = await open_page(browser, f"{stack.url('awards')}/approvals", READER)
        await filter_by(page, uscc)  # the stack's ledger holds other tests' owed payouts too
        await page.wait_for_selector(f'tr[data-payout-id="{target}"]', state="attached", timeout=15_000)
        visible = {
            "approve": await page.is_visible("#approve"),
            "select all": await page.is_visible("#select-all-matching"),
            "row checkbox": await page.is_visible(f'tr[data-payout-id="{target}"] input.select'),
            "why": await page.is_visible(f'tr[data-payout-id="{target}"] button.why'),
        }
        status = await page.evaluate(
            """async id => (await fetch("/v1/approvals", {method: "POST", headers: XJ.headers({"Content-Type":
            "application/json"}), body: JSON.stringify({payout_ids: [id]})})).status""",
            target,
        )
        treasury = await open_page(browser, f"{stack.url('awards')}/treasury", READER)
        treasury_buttons = await treasury.locator("button[data-act=release], button#prepare").evaluate_all(
            "bs => bs.filter(b => b.offsetParent !== null).length"
        )
    assert visible == {"approve": False, "select all": False, "row checkbox": False, "why": True}
    assert (status, treasury_buttons) == (403, 0)
    assert (await owed(stack, q=uscc))["count"] == 2  # both still owed: nothing was approved


async def test_treasury_prepare_release_download_confirm_and_close_an_exception_with_two_people(
    stack: Stack,
) -> None:
    _, _, payouts, _ = await awarded(stack, "654201")
    ids = [p["payout_id"] for p in payouts]
    assert await approve(stack, ids) == ["approved", "approved"]
    base = f"{stack.url('awards')}/treasury"
    async with chromium_browser() as browser:
        # Bob (treasurer and approver) prepares the batch from the two chosen payouts...
        bob = await open_page(browser, base, BOB)
        for pid in ids:
            await bob.locator(f'#approved tr[data-payout-id="{pid}"] input.select').check()
        await bob.click("#prepare")
        asked = await bob.inner_text("#panel [data-ask-total]")
        await bob.click("#panel [data-yes]")
        batch_id = await bob.get_attribute("#panel [data-prepared]", "data-prepared", timeout=15_000)
        # ... and may not release his own.
        await bob.click(f'#batches tr[data-batch-id="{batch_id}"] button[data-act=release]')
        await bob.click("#panel [data-yes]")
        await bob.wait_for_selector("#panel.refused", timeout=15_000)
        own = await bob.inner_text("#panel")
        # Alice, another person, releases it.
        alice = await open_page(browser, base, ALICE)
        await alice.click(f'#batches tr[data-batch-id="{batch_id}"] button[data-act=release]')
        await alice.click("#panel [data-yes]")
        await alice.wait_for_selector(f'#panel [data-released="{batch_id}"]', timeout=15_000)
        released = f'#batches tr[data-batch-id="{batch_id}"] [data-state]:has-text("已放行 released")'
        await alice.wait_for_selector(released, timeout=15_000)  # the list is read again after the action
        state = await alice.inner_text(f'#batches tr[data-batch-id="{batch_id}"] [data-state]')
        # Carol (treasurer) downloads the file and imports the bank's answer.
        carol = await open_page(browser, base, CAROL)
        async with carol.expect_download() as fetched:
            await carol.click(f'#batches tr[data-batch-id="{batch_id}"] button[data-act=csv]')
        download = await fetched.value
        payment_file = Path(await download.path()).read_text(encoding="utf-8-sig")
        name = download.suggested_filename
        stranger = str(uuid.uuid4())
        answer = (
            "payout_id,direction,amount_cny,value_date,reference\n"
            f"{ids[0]},paid,100000,2016-12-05,BANK-W1\n"
            f"{ids[1]},paid,100000,2016-12-05,BANK-W2\n"
            f"{stranger},paid,100000,2016-12-05,BANK-W3\n"
        )
        await carol.set_input_files(
            "#confirmation-file", {"name": "bank.csv", "mimeType": "text/csv", "buffer": answer.encode()}
        )
        await carol.click("#panel [data-yes]")
        await carol.wait_for_selector("#panel [data-imported]", timeout=15_000)
        lines = await carol.locator("#answer tbody tr").evaluate_all(
            "rows => rows.map(r => [r.dataset.line, r.dataset.outcome])"
        )
        await shot(carol, "workspace-treasury.png")
        # The unknown payout opened an exception: Carol resolves it, Alice confirms it.
        exception = await call(
            stack, "GET", "/v1/treasury-exceptions", READER, params={"status": "open", "limit": 1000}
        )
        exception_id = next(e["exception_id"] for e in exception.json()["exceptions"] if e["reference"] == "BANK-W3")
        await carol.reload()
        await carol.wait_for_selector("body[data-ready=true]")
        await carol.click(f'#exceptions tr[data-exception-id="{exception_id}"] button[data-act=resolve]')
        await carol.fill("#note", "银行确认：非本单位付款 the bank says it is not ours")
        await carol.click("#panel [data-yes]")
        await carol.wait_for_selector(f'#panel [data-resolved="{exception_id}"]', timeout=15_000)
        confirm_button = f'#exceptions tr[data-exception-id="{exception_id}"] button[data-act=confirm]'
        await carol.wait_for_selector(confirm_button, state="attached", timeout=15_000)  # listed again, resolved
        carol_may_confirm = await carol.is_visible(
            f'#exceptions tr[data-exception-id="{exception_id}"] button[data-act=confirm]'
        )
        await alice.reload()
        await alice.wait_for_selector("body[data-ready=true]")
        await alice.click(f'#exceptions tr[data-exception-id="{exception_id}"] button[data-act=confirm]')
        await alice.click("#panel [data-yes]")
        await alice.wait_for_selector(f'#panel [data-closed="{exception_id}"]', timeout=15_000)
        closed = await alice.inner_text("#panel")
    assert asked == "¥200,000"
    assert own.startswith("未放行 Not released. 不允许 Not allowed — four eyes:")
    assert state == "已放行 released"
    assert name == f"payment-batch-{batch_id}.csv"
    file_rows = list(csv.DictReader(io.StringIO(payment_file)))
    assert sorted(r["payout_id"] for r in file_rows[:-1]) == sorted(ids)  # then the TOTAL line
    assert (file_rows[-1]["payout_id"], len(file_rows)) == ("", 3)
    assert lines == [["2", "paid"], ["3", "paid"], ["4", "unknown_payout"]]
    assert carol_may_confirm is False  # a treasurer only: the confirm button is an approver's
    assert closed.startswith(f"已关闭 closed 异常 {exception_id}（无此付款，回单第 4 行 line 4） · 确认人 by alice")
    await audit_viewer_shows_and_exports(stack, batch_id, exception_id)


async def test_a_held_return_is_confirmed_and_a_held_repayment_rejected_by_a_second_person_on_the_page(
    stack: Stack,
) -> None:
    uscc, operator, payouts, inc = await awarded(stack, "653101")
    ids = [p["payout_id"] for p in payouts]
    assert await approve(stack, ids) == ["approved", "approved"]
    await released_batch(stack, ids)
    await confirm(
        stack, f"payout_id,direction,amount_cny,value_date,reference\n{ids[0]},paid,100000,2016-12-03,BANK-HW\n"
    )
    await publish(stack.bootstrap, [graduated_early(uscc, inc, operator, "653101")], topic=topics.ENTERPRISE_EVENTS)

    async def owed_back() -> int:
        r = await call(stack, "GET", f"/v1/recipients/{uscc}/position", READER)
        return int(r.json()["outstanding_clawback_cny"])

    assert await eventually(owed_back, lambda n: n == 100_000) == 100_000  # paid, then reversed
    answer = await confirm(
        stack,
        "payout_id,direction,amount_cny,value_date,reference\n"
        f"{ids[1]},returned,100000,2016-12-04,RET-HW\n{ids[0]},recovered,100000,2016-12-05,BACK-HW\n",
    )
    assert [x["outcome"] for x in answer["lines"]] == ["return_held", "settlement_held"]
    returned, repaid = (x["held_id"] for x in answer["lines"])
    async with chromium_browser() as browser:
        carol = await open_page(browser, f"{stack.url('awards')}/treasury", CAROL)  # a treasurer: no buttons
        carol_buttons = await carol.locator(f'#held tr[data-held-id="{returned}"] button').evaluate_all(
            "bs => bs.filter(b => b.offsetParent !== null).length"
        )
        alice = await open_page(browser, f"{stack.url('awards')}/treasury", ALICE)
        await alice.click(f'#held tr[data-held-id="{returned}"] button[data-act=confirm]')
        await alice.click("#panel [data-yes]")
        await alice.wait_for_selector(f'#panel [data-confirmed="{returned}"]', timeout=15_000)
        booked = await alice.inner_text("#panel")
        await alice.click(f'#held tr[data-held-id="{repaid}"] button[data-act=reject]')
        await alice.fill("#note", "银行流水无此笔 no such credit on the statement")
        await alice.click("#panel [data-yes]")
        await alice.wait_for_selector(f'#panel [data-rejected="{repaid}"]', timeout=15_000)
        await alice.wait_for_selector(f'#held tr[data-held-id="{repaid}"]', state="detached", timeout=15_000)
    assert carol_buttons == 0
    assert booked.endswith("the bank stopped the payment: cancelled")
    position = (await call(stack, "GET", f"/v1/recipients/{uscc}/position", READER)).json()
    assert (position["recovered_cny"], position["outstanding_clawback_cny"]) == (0, 100_000)  # rejected: still owed
    opened = await call(stack, "GET", "/v1/treasury-exceptions", READER, params={"status": "open", "limit": 1000})
    (rejected,) = [e for e in opened.json()["exceptions"] if e["reference"] == "BACK-HW"]
    assert (rejected["reason"], rejected["message"]) == (
        "hold_rejected",
        "held line rejected by alice (imported by carol): 银行流水无此笔 no such credit on the statement",
    )


async def audit_viewer_shows_and_exports(stack: Stack, batch_id: str, exception_id: int) -> None:
    """The audit viewer lists the treasury test's actions by the people who took them, and
    exports exactly those rows."""
    async with chromium_browser() as browser:
        page = await open_page(browser, f"{stack.url('awards')}/audit", READER)
        await page.fill("#subject", batch_id)
        await page.click("#filters button[type=submit]")
        await page.wait_for_selector('#entries tr[data-action="batch.approve"]', timeout=15_000)
        batch_rows = await page.locator("#entries tbody tr").evaluate_all(
            "rows => rows.map(r => [r.dataset.action, r.dataset.actor])"
        )
        await shot(page, "workspace-audit.png")
        await page.fill("#subject", str(exception_id))
        await page.click("#filters button[type=submit]")
        await page.wait_for_selector('#entries tr[data-action="exception.confirm"]', timeout=15_000)
        exception_rows = await page.locator("#entries tbody tr").evaluate_all(
            "rows => rows.map(r => [r.dataset.action, r.dataset.actor])"
        )
        await page.fill("#actor", "carol")
        await page.click("#filters button[type=submit]")
        await page.wait_for_selector('#entries tbody tr[data-actor="carol"]', timeout=15_000)
        async with page.expect_download() as fetched:
            await page.click("#export")
        exported = Path(await (await fetched.value).path()).read_text(encoding="utf-8")
    assert batch_rows == [["batch.prepare", "bob"], ["batch.approve", "alice"]]
    assert exception_rows == [["exception.resolve", "carol"], ["exception.confirm", "alice"]]
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["action"], r["actor"], r["subject"]) for r in rows] == [
        ("exception.resolve", "carol", str(exception_id))
    ]
    assert rows[0]["detail"] == '{"note":"银行确认：非本单位付款 the bank says it is not ours"}'


async def test_the_development_sign_in_form_signs_a_person_in_for_the_tab(stack: Stack) -> None:
    async with chromium_browser() as browser:
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(f"{stack.url('awards')}/sign-in?next=/treasury")
        await page.wait_for_selector("#dev:not([hidden])", timeout=15_000)
        await shot(page, "workspace-sign-in.png")
        await page.fill("#subject", "dora")
        await page.fill("#name", "多拉 Dora")
        await page.check("input[name=role][value=treasurer]")
        await page.click("#dev-form button[type=submit]")
        await page.wait_for_url("**/treasury", timeout=15_000)
        await page.wait_for_selector("body[data-ready=true]", timeout=15_000)
        who = await page.inner_text("[data-who]")
        prepare_shown = await page.is_visible("#prepare")
        other_tab = await (await browser.new_context()).new_page()  # another person's browser
        await other_tab.goto(f"{stack.url('awards')}/treasury")
        await other_tab.wait_for_selector("body[data-ready=true]", timeout=15_000)
        other = await other_tab.inner_text("[data-who]")
    assert (who, prepare_shown, other) == ("多拉 Dora · reader, treasurer", True, "未登录 not signed in")


@pytest.mark.parametrize(
    "wanted", ["/\\evil.example/x", "//evil.example/x", "https://evil.example/", "/\t/evil.example/x"]
)
async def test_after_sign_in_a_next_that_leaves_the_site_lands_on_approvals(stack: Stack, wanted: str) -> None:
    base = stack.url("awards")
    async with chromium_browser() as browser:
        page = await (await browser.new_context()).new_page()
        await page.goto(f"{base}/sign-in?" + urlencode({"next": wanted}))
        await page.wait_for_selector("#dev:not([hidden])", timeout=15_000)
        await page.fill("#subject", "erin")
        await page.check("input[name=role][value=reader]")
        await page.click("#dev-form button[type=submit]")
        await page.wait_for_selector("body[data-ready=true]", timeout=15_000)
        landed = urlsplit(page.url)
    assert (landed.netloc, landed.path) == (
        urlsplit(base).netloc,
        "/approvals",
    )


async def test_a_link_with_another_persons_token_asks_before_switching(stack: Stack) -> None:
    async with chromium_browser() as browser:
        page = await (await browser.new_context()).new_page()
        await page.goto(signed_in_as(f"{stack.url('awards')}/audit", ALICE))
        await page.wait_for_selector("body[data-ready=true]", timeout=15_000)
        asked: list[str] = []

        async def refuse(dialog: Any) -> None:
            asked.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", refuse)
        await page.goto(signed_in_as(f"{stack.url('awards')}/approvals", CAROL))
        await page.wait_for_selector("body[data-ready=true]", timeout=15_000)
        still = await page.inner_text("[data-who]")
        assert "#token=" not in page.url  # the token leaves the address bar either way
    assert asked == ["切换登录人员：alice → carol？ Switch the person signed in from alice to carol?"]
    assert still == "Alice · approver"


async def test_no_page_references_an_address_outside_the_platform(stack: Stack) -> None:
    platform = {urlsplit(stack.url(s)).netloc for s in ("awards", "reporting", "registration")}
    requested: list[str] = []
    async with chromium_browser() as browser:
        context = await browser.new_context()
        context.on("request", lambda r: requested.append(r.url))
        page = await context.new_page()
        for url in [f"{stack.url('awards')}{p}" for p in PAGES] + [f"{stack.url('reporting')}/"]:
            await page.goto(signed_in_as(url, READER), wait_until="networkidle")
            for ref in [*await page.eval_on_selector_all("[src], [href]", "els => els.map(e => e.src || e.href)")]:
                assert urlsplit(ref).scheme in {"http", "https", "blob", "data", ""}, ref
                if urlsplit(ref).scheme in {"http", "https"}:
                    assert urlsplit(ref).netloc in platform, (url, ref)
    outside = [u for u in requested if urlsplit(u).scheme in {"http", "https"} and urlsplit(u).netloc not in platform]
    assert len(requested) > len(PAGES) * 3  # the pages, their script, styles and data calls were seen
    assert outside == []
