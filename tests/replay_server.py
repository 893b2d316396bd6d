"""A real HTTP server on 127.0.0.1 that replays the recorded arXiv and Hugging Face
responses in tests/fixtures, for end-to-end tests of the scheduled fetches.

Routes (paths as the fetchers send them, via PAPERFEED_FETCH_MIRROR_URL):
- /rss/<categories>     the recorded announcement feed
- /oai                  the first ListRecords answers the recorded 503 (Retry-After: 10),
                        then the recorded page with a resumptionToken; the token's page ends it
- /api/daily_papers     the recorded Hugging Face daily papers
Each request is logged as (path, query dict). ``fail`` maps a path prefix to a status to
answer instead.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from conftest import FIXTURES

OAI = FIXTURES / "oai_pmh"
RSS_FILE = FIXTURES / "rss" / "laya-reader_arxiv_rss_cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24.xml"
HF_FILE = FIXTURES / "hf_daily_papers" / "sotawhat_hf_daily_papers_2026-06-12.json"
OAI_TOKEN_PAGE = OAI / "atomiklabs_listrecords_oai_dc_set-cs_2024-01-25_with_resumptionToken.xml"
OAI_LAST_PAGE = OAI / "paperhive_listrecords---should-list-identifiers-from-arxiv_1_http200.xml"
NOCK_503 = OAI / "paperhive_nock_raw" / "oaipmh-listrecords---should-list-identifiers-from-arxiv.json"


def recorded_503() -> tuple[int, list[tuple[str, str]], bytes]:
    rec = json.loads(NOCK_503.read_text())[0]
    headers = [(k, v) for k, v in zip(rec["rawHeaders"][::2], rec["rawHeaders"][1::2])
               if k not in ("Content-Length", "Connection", "Date")]
    return rec["status"], headers, rec["response"].encode()


class ReplayServer:
    def __init__(self):
        self.log: list[tuple[str, dict]] = []
        self.fail: dict[str, int] = {}
        self._oai_503_sent = False
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                status, headers, body = server.answer(self.path)
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "ReplayServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self, prefix: str = "") -> list[str]:
        return [path for path, _ in self.log if path.startswith(prefix)]

    def queries(self, prefix: str) -> list[dict]:
        return [query for path, query in self.log if path.startswith(prefix)]

    def answer(self, raw_path: str):
        parts = urlsplit(raw_path)
        query = dict(parse_qsl(parts.query))
        with self._lock:
            self.log.append((parts.path, query))
            for prefix, status in self.fail.items():
                if parts.path.startswith(prefix):
                    return status, [("Content-Type", "text/plain")], b"recorded failure"
            if parts.path.startswith("/rss/"):
                return 200, [("Content-Type", "application/rss+xml")], RSS_FILE.read_bytes()
            if parts.path == "/api/daily_papers":
                return 200, [("Content-Type", "application/json")], HF_FILE.read_bytes()
            if parts.path == "/oai":
                return self._oai(query)
        return 404, [("Content-Type", "text/plain")], b"no recording"

    def _oai(self, query: dict):
        xml = [("Content-Type", "text/xml")]
        if "resumptionToken" in query:
            return 200, xml, OAI_LAST_PAGE.read_bytes()
        if not self._oai_503_sent:
            self._oai_503_sent = True
            return recorded_503()
        return 200, xml, OAI_TOKEN_PAGE.read_bytes()
