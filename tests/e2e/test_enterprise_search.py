"""The lookup by what officers know: part of an enterprise's Chinese name, or
part of its code (prefix or substring), then the record as before."""

import uuid
from typing import Any

import httpx
import pytest

from shared.contract import topics
from tests.support import factories as f
from tests.support.browser import as_reader, page_in_chromium
from tests.support.http import eventually
from tests.support.kafka_io import publish
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
async def three(stack: Stack, client: httpx.AsyncClient) -> tuple[str, list[dict[str, Any]]]:
    """Three enterprises whose names share a tag no other test uses."""
    tag = uuid.uuid4().hex[:6]
    names = [f"{tag}天山云计算有限公司", f"{tag}丝路云数据科技有限公司", f"{tag}伊犁果业合作社"]
    made = [f.enterprise(f.new_uscc("654002"), name=n, division="654002", registered_on="2015-06-01") for n in names]
    await publish(stack.bootstrap, made, topic=topics.ENTERPRISE_EVENTS)

    async def found() -> int:
        r = await client.get(f"{stack.url('awards')}/v1/enterprises", params={"q": tag})
        return len(r.json()["enterprises"]) if r.status_code == 200 else -1

    assert await eventually(found, lambda n: n == 3) == 3
    return tag, [e["data"] for e in made]


async def search(stack: Stack, client: httpx.AsyncClient, q: str, limit: int = 20) -> dict[str, Any]:
    r = await client.get(f"{stack.url('awards')}/v1/enterprises", params={"q": q, "limit": limit})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_part_of_a_chinese_name_or_of_a_code_finds_the_enterprise(
    stack: Stack, client: httpx.AsyncClient, three: tuple[str, list[dict[str, Any]]]
) -> None:
    tag, (cloud, silk, fruit) = three
    by_name = await search(stack, client, f"{tag}丝路")
    assert by_name == {
        "query": f"{tag}丝路",
        "enterprises": [
            {
                "uscc": silk["uscc"],
                "name": silk["name"],
                "division_code": "654002",
                "division_name": "伊宁市",
                "registered_on": "2015-06-01",
            }
        ],
        "more": False,
    }
    # A name's middle, without the tag: other tests' enterprises may match too, ours is there.
    fruits = (await search(stack, client, "果业合作社"))["enterprises"]
    assert [e["uscc"] for e in fruits if tag in e["name"]] == [fruit["uscc"]]
    # A piece from the middle of a code, in either case; and the whole tag, cut at `limit`.
    middle = cloud["uscc"][6:16]
    assert [e["uscc"] for e in (await search(stack, client, middle.lower()))["enterprises"]] == [cloud["uscc"]]
    cut = await search(stack, client, tag, limit=2)
    assert (len(cut["enterprises"]), cut["more"]) == (2, True)
    everything = await search(stack, client, tag)
    assert sorted(e["name"] for e in everything["enterprises"]) == sorted(d["name"] for d in (cloud, silk, fruit))
    assert (await search(stack, client, f"{tag}不存在"))["enterprises"] == []


@pytest.mark.parametrize("q", ["", "   ", "a\x00b", "x" * 65])
async def test_a_search_that_cannot_mean_anything_is_a_clear_422(
    stack: Stack, client: httpx.AsyncClient, q: str
) -> None:
    r = await client.get(f"{stack.url('awards')}/v1/enterprises", params={"q": q})
    assert (r.status_code, r.json()["error_code"]) == (422, "INVALID_REQUEST")


@pytest.mark.browser
async def test_an_officer_finds_an_enterprise_by_part_of_its_name_in_chromium(
    stack: Stack, three: tuple[str, list[dict[str, Any]]]
) -> None:
    tag, (_, _, fruit) = three
    async with page_in_chromium() as page:
        await page.goto(as_reader(f"{stack.url('awards')}/lookup"))
        await page.fill("#uscc", f"{tag}伊犁")
        await page.click("#find button[type=submit]")
        await page.wait_for_selector(f'tr[data-uscc="{fruit["uscc"]}"]', timeout=15_000)
        status = await page.inner_text("#status")
        await page.click(f'a[data-open="{fruit["uscc"]}"]')
        await page.wait_for_selector("body[data-loaded=true]", timeout=15_000)
        heading = await page.inner_text("#result h2")
        url = page.url
    assert status == f"1 家企业 enterprises match “{tag}伊犁”"
    assert heading == fruit["name"]
    assert url.endswith(f"/lookup?uscc={fruit['uscc']}")
