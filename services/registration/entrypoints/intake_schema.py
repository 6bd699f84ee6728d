# Models built at run time from INTAKE_MODELS: mypy cannot follow create_model's arguments.
# mypy: disable-error-code="arg-type,valid-type,maybe-unrecognized-str-typeform,unused-ignore"
"""The request body of POST /v1/events for OpenAPI: the envelope of docs/contract/events.md, one schema
per intake event type, discriminated by `event_type` — so a client generator produces
usable types. The endpoint itself reads the raw bytes (one validation path with Kafka)."""

import uuid
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, create_model

from shared.contract.events import INTAKE_MODELS

REF = "#/components/schemas/{model}"


@cache
def envelope_models() -> tuple[type[BaseModel], ...]:
    models = []
    for event_type, data_model in INTAKE_MODELS.items():
        models.append(
            create_model(
                f"{event_type}Envelope",
                __config__=ConfigDict(extra="forbid"),
                event_id=(uuid.UUID, ...),
                event_type=(Literal[event_type], ...),
                schema_version=(Literal[1], ...),
                occurred_at=(AwareDatetime, ...),
                source=(Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")], ...),
                data=(data_model, ...),
            )
        )
    return tuple(models)


def request_body_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """(the body's schema, the component schemas it refers to)."""
    union = Annotated[Union[envelope_models()], Field(discriminator="event_type")]  # noqa: UP007
    schema = TypeAdapter(union).json_schema(ref_template=REF, mode="validation")
    components = schema.pop("$defs", {})
    components["IntakeEnvelope"] = schema
    return {"$ref": REF.format(model="IntakeEnvelope")}, components
