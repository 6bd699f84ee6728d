"""The office's policy page in headless Chromium: one person drafts a prefecture's plan in
the form, another previews it (counts and totals first) and adopts it, and the
jurisdiction's timeline shows it. The plan is for 伊犁 (654000) from 2024-03-01, a place
and a time no other test's facts reach together."""

import pytest

from tests.e2e.test_workspace import open_page
from tests.support.browser import ARTIFACTS, chromium_browser
from tests.support.disbursement import ALICE, BOB
from tests.support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def test_a_prefecture_plan_is_drafted_by_one_person_and_adopted_by_another_after_its_preview(
    stack: Stack,
) -> None:
    url = f"{stack.url('awards')}/policy"
    async with chromium_browser() as browser:
        drafter = await open_page(browser, url, ALICE)
        assert await drafter.locator("[data-jurisdiction='650000'] .timeline [data-version='1']").count() == 1
        await drafter.select_option("#jurisdiction", "654000")
        assert await drafter.locator("#windows").is_hidden()  # a prefecture's plan has no window
        await drafter.fill("#effective_from", "2024-03-01")
        await drafter.fill("#a-EQUITY_LISTING-operator", "30000")
        await drafter.fill("#a-EQUITY_LISTING-enterprise", "30000")
        await drafter.fill("#issuer", "伊犁哈萨克自治州人民政府")
        await drafter.fill("#title", "伊犁州大众创业万众就业实施方案")
        await drafter.fill("#issued_on", "2024-02-01")
        await drafter.click("#draft button[type=submit]")
        await drafter.wait_for_selector("#draft-result:has-text('草稿已保存 Draft saved')", timeout=15_000)
        version = (await drafter.inner_text("#draft-result")).split("Draft saved: v")[1].split("。")[0]
        row = drafter.locator(f"[data-jurisdiction='654000'] tr[data-version='{version}']")
        assert await row.get_attribute("data-status") == "draft"

        adopter = await open_page(browser, url, BOB)  # an approver too, and not the drafter
        await adopter.click(f"[data-preview='{version}']")
        await adopter.wait_for_selector("#preview-summary [data-summary]", timeout=30_000)
        summary = await adopter.inner_text("#preview-summary [data-summary]")
        assert "受影响的已有奖励 0 项" in summary and "拒绝 refused 0" in summary
        await adopter.locator("#preview-card").screenshot(path=str(ARTIFACTS / "workspace-policy-preview.png"))
        await adopter.click("#adopt")
        asked = await adopter.inner_text("#adopt-result")
        assert f"采纳 v{version}" in asked
        await adopter.click("#adopt-result [data-yes]")
        await adopter.wait_for_selector("#adopt-result:has-text('已采纳 Adopted')", timeout=15_000)
        assert f"v{version} by" in await adopter.inner_text("#adopt-result")
        await adopter.wait_for_selector(
            f"[data-jurisdiction='654000'] .timeline [data-version='{version}']", timeout=15_000
        )
        adopted_row = adopter.locator(f"[data-jurisdiction='654000'] tr[data-version='{version}']")
        assert await adopted_row.get_attribute("data-status") == "adopted"
        assert "伊犁州大众创业万众就业实施方案" in await adopted_row.inner_text()
        await adopter.evaluate("window.scrollTo(0, 0)")
        ARTIFACTS.mkdir(exist_ok=True)
        await adopter.locator("main > section.card").first.screenshot(path=str(ARTIFACTS / "workspace-policy.png"))
