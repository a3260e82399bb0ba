"""The HTTP ingest API: ``POST /api/v1/ingest/{kind}`` with a JSON array of records.

Same kinds and validation as ``retention-bot import``; bearer-token auth; all or nothing; re-sending
the same records changes nothing. 401 without a valid token, 413 past the size limit, 422 with every
record error (``index`` is the record's position in the array, from 0), 404 for an unknown kind.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from typing import Any

from bot.settings import Settings
from storage.db import Database
from storage.errors import ImportFailed, RecordError
from storage.importer import KINDS, import_records
from storage.workspaces import ensure_workspace

MAX_BODY_BYTES = 10 * 1024 * 1024
PREFIX = "/api/v1/ingest/"

Response = tuple[int, dict[str, Any]]


def _records(items: list[Any]) -> Iterator[tuple[int, dict[str, Any] | None, RecordError | None]]:
    for index, item in enumerate(items):
        if isinstance(item, dict):
            yield index, item, None
        else:
            yield index, None, RecordError(index, "record", "must be a JSON object")


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
    try:
        items = json.loads(body.read(length) or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return 400, {"error": "invalid_json", "detail": str(exc)}
    if not isinstance(items, list):
        return 400, {"error": "not_an_array", "detail": "the body must be a JSON array of records"}
    try:
        with db.write() as session:
            ws = ensure_workspace(session, settings.workspace, now=now)
            result = import_records(session, ws, kind, _records(items), source=f"ingest {kind}")
    except ImportFailed as exc:
        errors = [{"index": e.line, "field": e.field, "reason": e.reason} for e in exc.errors]
        return 422, {
            "error": "invalid_records",
            "total_errors": exc.total,
            "errors": errors,
            "detail": "nothing from this batch was written",
        }
    return 200, {
        "kind": kind,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
    }


def openapi() -> dict[str, Any]:
    """An OpenAPI 3.1 document for the ingest API, with each kind's record schema from its model."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
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
                    "200": {
                        "description": "merged",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}
                        },
                    },
                    "401": {"description": "missing or wrong bearer token"},
                    "413": {"description": f"body larger than {MAX_BODY_BYTES} bytes"},
                    "422": {
                        "description": "some records are invalid; nothing was written",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/IngestErrors"}}
                        },
                    },
                },
            }
        }
    schemas["IngestResult"] = {
        "type": "object",
        "properties": {
            "kind": {"type": "string"},
            "inserted": {"type": "integer"},
            "updated": {"type": "integer"},
            "unchanged": {"type": "integer"},
        },
    }
    schemas["IngestErrors"] = {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "total_errors": {"type": "integer"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "field": {"type": "string"},
                        "reason": {"type": "string"},
                    },
                },
            },
        },
    }
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
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
