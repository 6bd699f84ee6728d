"""A JSON body that cannot even be decoded as UTF-8 gets the documented 422 of bad JSON,
not FastAPI's undocumented 400 (schemathesis sends such bodies to every JSON route)."""

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from shared.web import errors as http_errors


async def test_a_body_that_is_not_utf8_is_the_422_of_bad_json_not_an_undocumented_400() -> None:
    app = FastAPI()
    http_errors.install(app)

    class Note(BaseModel):
        note: str

    @app.post("/notes")
    async def post_note(body: Note) -> str:
        return body.note

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        garbled = await client.post(
            "/notes", content=b'{"note": "\xff\xfe"}', headers={"content-type": "application/json"}
        )
        broken = await client.post("/notes", content=b'{"note": ', headers={"content-type": "application/json"})
    assert (garbled.status_code, garbled.json()) == (
        422,
        {
            "error_code": "INVALID_REQUEST",
            "message": "the request's parameters are invalid",
            "errors": [{"loc": "body", "msg": "not JSON in UTF-8"}],
        },
    )
    assert broken.status_code == 422
