"""Cursor pagination on time-ordered ids: the cursor is the last id of the page."""

import uuid
from typing import Annotated, Any

from fastapi import Query

Cursor = Annotated[uuid.UUID | None, Query(description="`next_cursor` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]


def next_cursor(rows: list[Any], limit: int) -> str | None:
    """Callers fetch `limit + 1` rows: the extra one says whether another page exists."""
    return str(rows[limit - 1].id) if len(rows) > limit else None
