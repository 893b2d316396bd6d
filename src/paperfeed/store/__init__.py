"""Repositories: every query lives here. Functions take a Session and never commit;
the caller (a CLI command, a request, an import batch) owns the transaction."""
