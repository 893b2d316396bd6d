"""Ingest: one module per source, each parsing into ``PaperRecord``.

Parsers are pure (bytes/text in, records out); fetchers do the HTTP; ``importer`` runs
batches through the single upsert path in ``paperfeed.store.papers``.
"""
