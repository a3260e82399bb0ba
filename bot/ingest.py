"""The HTTP ingest API: ``POST /api/v1/ingest/{kind}`` with a JSON array of records.

Same kinds and validation as ``retention-bot import``, parsed as strict JSON (``true`` is not a
number, ``0`` is not a date); bearer-token auth; all or nothing; re-sending the same records changes
nothing. 400 for a body that is not a JSON array, 401 without a valid token, 404 for an unknown kind,
405 (with ``Allow``) for another method, 413 past the size limit, 422 with every record error
(``index`` is the record's position in the array, from 0) or for a body that is empty, not UTF-8 or
nested deeper than records go. The OpenAPI document is built from the same record models.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Any

from bot.settings import Settings
from storage.db import Database
from storage.errors import ImportFailed, RecordError
from storage.importer import KINDS, import_records
from storage.readers import NESTING, TooDeep, parse_json, too_deep
from storage.workspaces import ensure_workspace

MAX_BODY_BYTES = 10 * 1024 * 1024
PREFIX = "/api/v1/ingest/"
OPENAPI_PATH = "/api/v1/openapi.json"

Response = tuple[int, dict[str, Any]]


def _records(items: list[Any]) -> Iterator[tuple[int, dict[str, Any] | None, RecordError | None]]:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            yield index, None, RecordError(index, "record", "must be a JSON object")
        elif (deep := too_deep(item)) is not None:
            yield index, None, RecordError(index, deep, NESTING)
        else:
            yield index, item, None


def _unusable(error: str, detail: str) -> Response:
    """A 422 for a body that holds no records to check (the same shape as record errors)."""
    return 422, {"error": error, "detail": f"{detail}; nothing was written", "total_errors": 0, "errors": []}


def _decode(raw: bytes) -> Response | list[Any]:
    """The body's JSON array, or the response refusing it."""
    if not raw.strip():
        return _unusable("empty_body", "the body is empty: send a JSON array of records")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _unusable(
            "not_utf8",
            f"the body is not UTF-8 (byte 0x{raw[exc.start]:02X} at byte {exc.start}): send UTF-8 JSON",
        )
    try:
        items = parse_json(text)
    except TooDeep:
        return _unusable("too_deep", NESTING)
    except ValueError as exc:  # json.JSONDecodeError, NaN or Infinity
        return 400, {"error": "invalid_json", "detail": str(exc)}
    if not isinstance(items, list):
        return 400, {"error": "not_an_array", "detail": "the body must be a JSON array of records"}
    return items


def authorised(settings: Settings, header: str | None) -> bool:
    if settings.ingest_token is None or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(
        header.removeprefix("Bearer ").encode(), settings.ingest_token.get_secret_value().encode()
    )


def ingest(
    settings: Settings, db: Database, now: Any, kind: str, auth: str | None, length: int, body: Any
) -> Response:
    """``body`` is a readable stream of ``length`` bytes (read only after authentication)."""
    if not authorised(settings, auth):
        return 401, {"error": "unauthorized", "detail": "send Authorization: Bearer <INGEST_TOKEN>"}
    if kind not in KINDS:
        return 404, {"error": "unknown_kind", "detail": f"kinds: {', '.join(KINDS)}"}
    if length > MAX_BODY_BYTES:
        return 413, {
            "error": "too_large",
            "detail": f"at most {MAX_BODY_BYTES} bytes per request; split the batch",
        }
    items = _decode(body.read(length) if length > 0 else b"")
    if isinstance(items, tuple):
        return items
    try:
        with db.write() as session:
            ws = ensure_workspace(session, settings.workspace, now=now)
            result = import_records(session, ws, kind, _records(items), source=f"ingest {kind}", strict=True)
    except ImportFailed as exc:
        errors = [{"index": e.line, "field": e.field, "reason": e.reason} for e in exc.errors]
        return 422, {
            "error": "invalid_records",
            "total_errors": exc.total,
            "errors": errors,
            "detail": "nothing from this batch was written",
        }
    if kind == "people":  # with a Slack token: people without a Slack id are looked up by e-mail
        from bot.identity import link_in_background

        link_in_background(settings, db, ws)
    return 200, {
        "kind": kind,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
    }


_ERROR = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
}
_REQUEST_RULES = (
    "A JSON array of records, all or nothing. Strict JSON: numbers are JSON numbers (`true` is not "
    "one), dates and times are strings (`0` is not a date), money may also be a decimal string. Times "
    "without an offset are UTC and must stay within years 1-9999 in UTC. Text holds no control "
    "characters (free-text fields may hold tab and line breaks); a value is a string, number, boolean, "
    f"null or a list of them. At most {MAX_BODY_BYTES} bytes per request."
)


def _json_response(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}, **extra}


def _responses() -> dict[str, Any]:
    """Every answer the server gives on an ingest path (405 comes for any method but POST)."""
    error = {"$ref": "#/components/schemas/Error"}
    return {
        "BadRequest": _json_response("the body is not JSON, or not a JSON array", error),
        "Unauthorized": _json_response("missing or wrong bearer token (INGEST_TOKEN)", error),
        "NotFound": _json_response("no such kind", error),
        "MethodNotAllowed": _json_response(
            "another method than the one this path takes",
            error,
            headers={
                "Allow": {
                    "description": "the methods this path takes",
                    "required": True,
                    "schema": {"type": "string"},
                }
            },
        ),
        "TooLarge": _json_response(f"body larger than {MAX_BODY_BYTES} bytes; split the batch", error),
        "Invalid": _json_response(
            "invalid records, or a body that is empty, not UTF-8 or nested too deeply; nothing was written",
            {"$ref": "#/components/schemas/IngestErrors"},
        ),
    }


def openapi() -> dict[str, Any]:
    """An OpenAPI 3.1 document for the ingest API, with each kind's record schema from the very models
    that validate it (so the limits stated are the limits enforced), and every status it answers."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    refs = {
        "400": "BadRequest",
        "401": "Unauthorized",
        "404": "NotFound",
        "405": "MethodNotAllowed",
        "413": "TooLarge",
        "422": "Invalid",
    }
    answers = {status: {"$ref": f"#/components/responses/{name}"} for status, name in refs.items()}
    for name, kind in KINDS.items():
        schema = kind.model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[kind.model.__name__] = schema
        paths[f"{PREFIX}{name}"] = {
            "post": {
                "summary": f"Import {name}: {kind.summary}",
                "operationId": f"ingest_{name}",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "description": _REQUEST_RULES,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "items": {"$ref": f"#/components/schemas/{kind.model.__name__}"},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json_response("merged", {"$ref": "#/components/schemas/IngestResult"}),
                    **answers,
                },
            }
        }
    paths[OPENAPI_PATH] = {
        "get": {
            "summary": "This document",
            "operationId": "openapi",
            "security": [],
            "responses": {
                "200": _json_response("the OpenAPI document", {"type": "object"}),
                "405": answers["405"],
            },
        }
    }
    count = {"type": "integer", "minimum": 0}
    schemas["IngestResult"] = {
        "type": "object",
        "required": ["kind", "inserted", "updated", "unchanged"],
        "properties": {"kind": {"type": "string"}, "inserted": count, "updated": count, "unchanged": count},
    }
    schemas["IngestErrors"] = {
        "type": "object",
        "required": ["error", "detail", "total_errors", "errors"],
        "properties": {
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "total_errors": count,
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["index", "field", "reason"],
                    "properties": {
                        "index": count,
                        "field": {"type": "string"},
                        "reason": {"type": "string"},
                    },
                },
            },
        },
    }
    schemas["Error"] = _ERROR
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "retention-bot ingest API",
            "version": "1",
            "description": "Load CRM, product analytics and helpdesk data; see docs/import.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": _responses(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
