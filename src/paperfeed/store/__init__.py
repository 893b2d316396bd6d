"""Repositories: every query lives here. Functions take a Session and never commit;
the caller (a CLI command, a request, an import batch) owns the transaction.

Importing the package registers the change-sequence hook (``store.changes``): ORM writes
from anywhere advance the sequence that indexes, caches and ETags follow."""

from paperfeed.store import changes  # noqa: F401
