"""Bounded integer parameters for row ids in paths and forms.

Row ids are INTEGER columns (32-bit on PostgreSQL, 64-bit on SQLite); a larger number from
a URL or form reached the database and failed there (an overflow, so a 500). Out of range
is now a validation error (400 on pages, 422 under /api) before any query runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path

MAX_ROW_ID = 2**31 - 1  # the INTEGER range on PostgreSQL, the narrower backend

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a row id")]
OptionalRowIdForm = Annotated[int | None, Form(ge=1, le=MAX_ROW_ID)]
