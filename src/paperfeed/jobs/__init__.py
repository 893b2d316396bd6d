"""Scheduled background jobs: fetching on arXiv's announcement schedule and Hugging Face's
daily page, with catch-up after downtime, run by ``paperfeed worker`` or inside ``serve``.

Any number of processes on any number of machines may run a ``JobRunner`` over one
database: each run is claimed in the ``job_run`` table first, so exactly one of them runs it.
"""
