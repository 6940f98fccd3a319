"""Server-side prepared statements for the annotator's hot path.

Django binds parameters on the client, so Postgres parses and plans every call and the ORM compiles every
query in Python first; for the few statements each annotator runs per comparison, both cost more than the
query itself. These run on Django's own connection (same transaction) through psycopg, which prepares a
statement after its first executions and reuses the plan."""

import json
from typing import Any

from django.db import connection


def fetchone(sql: str, params: dict[str, object]) -> tuple | None:
    connection.ensure_connection()
    return connection.connection.execute(sql, params, prepare=True).fetchone()


def json_value(value: Any) -> Any:
    """json/jsonb columns arrive as text on Django's connection (it decodes JSON itself)."""
    return json.loads(value) if isinstance(value, str | bytes) else value
