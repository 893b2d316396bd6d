"""Prometheus metrics. Request counts and latencies are counted in each process (summed over
processes in prometheus-client's multi-process mode, when ``PROMETHEUS_MULTIPROC_DIR`` is set,
as ``serve --workers N`` does); everything about the data (papers, jobs, digests, embedding
backlog) is read from the database at scrape time, so every node reports the same numbers
whichever process ran the work.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
disable_created_metrics()  # the *_created series double the output and nobody graphs them

REQUESTS = Counter("paperfeed_http_requests", "HTTP requests answered, by route template and status",
                   ["method", "route", "status"])
LATENCY = Histogram("paperfeed_http_request_duration_seconds", "Time to answer a request, by route template",
                    ["method", "route"],
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
SEARCHES = Counter("paperfeed_api_searches", "API searches, by the mode that answered (keyword while "
                   "semantic search is still indexing)", ["mode"])


def observe_request(method: str, route: str, status: int, seconds: float, search_mode: str | None = None) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)
    if search_mode:
        SEARCHES.labels(search_mode).inc()


def use_multiproc_dir(data_dir: Path) -> Path:
    """Multi-process mode for ``serve --workers N``: called before the workers start, it
    points them at one directory for their metric files. An operator's own
    PROMETHEUS_MULTIPROC_DIR is kept as it is; ours, under the data directory, is emptied
    first (files left by an earlier run would be counted again)."""
    if os.environ.get(MULTIPROC_ENV):
        return Path(os.environ[MULTIPROC_ENV])
    path = data_dir / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path.resolve())
    return path


class DatabaseCollector(Collector):
    """Reads the numbers every node shares from the database, once per scrape."""

    def __init__(self, db):
        self.db = db

    def collect(self):
        from sqlalchemy import func, select

        from paperfeed.models import DigestDelivery, Paper
        from paperfeed.models.digest import D_SENT
        from paperfeed.models.jobs import JobRun
        from paperfeed.models.search import PaperEmbedding

        with self.db.session() as session:
            papers = session.scalar(select(func.count()).select_from(Paper).where(Paper.withdrawn.is_(False))) or 0
            embedded = session.scalar(select(func.count()).select_from(PaperEmbedding)) or 0
            sent = session.scalar(select(func.count()).select_from(DigestDelivery)
                                  .where(DigestDelivery.status == D_SENT)) or 0
            jobs = session.execute(select(JobRun.name, JobRun.runs, JobRun.total_failures, JobRun.failures,
                                          JobRun.last_success_at)).all()
        yield GaugeMetricFamily("paperfeed_papers", "Papers in the database (not withdrawn)", value=papers)
        yield GaugeMetricFamily("paperfeed_embedding_backlog", "Papers without a stored embedding",
                                value=max(0, papers - embedded))
        yield CounterMetricFamily("paperfeed_digests_sent", "Digests delivered", value=sent)
        yield from _job_families(jobs)


def _job_families(jobs):
    runs = CounterMetricFamily("paperfeed_job_runs", "Scheduled job runs, failed ones included", labels=["job"])
    failures = CounterMetricFamily("paperfeed_job_failures", "Scheduled job runs that failed", labels=["job"])
    failing = GaugeMetricFamily("paperfeed_job_consecutive_failures", "Failures since the last success",
                                labels=["job"])
    success = GaugeMetricFamily("paperfeed_job_last_success_timestamp_seconds",
                                "When the job last succeeded (Unix time)", labels=["job"])
    for name, run_count, total_failures, consecutive, last_success in jobs:
        runs.add_metric([name], run_count)
        failures.add_metric([name], total_failures)
        failing.add_metric([name], consecutive)
        if last_success is not None:
            from calendar import timegm

            success.add_metric([name], timegm(last_success.timetuple()))
    return [runs, failures, failing, success]


class IndexCollector(Collector):
    """This node's search index against the database (each node keeps its own index)."""

    def __init__(self, state: dict):
        self.state = state

    def collect(self):
        for key, help_text in (("keyword_docs", "Papers in this node's keyword index"),
                               ("keyword_lag", "Papers not yet in this node's keyword index"),
                               ("vector_docs", "Papers in this node's vector snapshot")):
            yield GaugeMetricFamily(f"paperfeed_index_{key}", help_text, value=self.state.get(key, 0))


def render(db, index_state: dict | None = None) -> tuple[bytes, str]:
    """The exposition text for one scrape: request metrics (this process's, or every
    worker's in multi-process mode) followed by the database's and the index's numbers."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        requests = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests)
    else:
        from prometheus_client import REGISTRY as requests
    shared = CollectorRegistry()
    shared.register(DatabaseCollector(db))
    if index_state is not None:
        shared.register(IndexCollector(index_state))
    return generate_latest(requests) + generate_latest(shared), CONTENT_TYPE_LATEST
