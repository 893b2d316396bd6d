"""One Settings object, built explicitly and passed down; nothing is read at import time.

Values come from (highest first): keyword overrides, ``PAPERFEED_*`` environment
variables, then an optional TOML file named by ``--config`` or ``PAPERFEED_CONFIG``.
A config file is never picked up implicitly from the working directory.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import (
    BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERFEED_", extra="ignore")

    # storage
    data_dir: Path = Path("./data")
    database_url: str | None = None  # default: sqlite file inside data_dir

    # web
    base_url: str = "http://127.0.0.1:8000"  # absolute links in emails and feeds
    secret_key: SecretStr | None = None  # default: generated once into data_dir/secret_key
    site_name: str = "paperfeed"
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs or CIDRs,
    # comma-separated in PAPERFEED_TRUSTED_PROXIES). Empty: the peer address is the client.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    max_body_bytes: int = 2 * 1024 * 1024  # larger request bodies get 413 before being read

    # fetching
    contact_email: str = ""  # goes into the User-Agent, as arXiv asks
    arxiv_min_interval: float = 3.0  # seconds between requests to arXiv hosts
    http_timeout: float = 30.0
    http_max_retries: int = 5

    # community
    submission_window_days: int = 14
    password_min_length: int = 10
    session_days: int = 30  # a sign-in lasts this long
    verify_token_hours: int = 48  # email verification links
    reset_token_hours: int = 2  # password reset links
    comment_edit_minutes: int = 15  # own comments: edit/delete freely; later edits are marked "edited"
    login_limit_per_account: int = 5  # failed sign-ins per account per rate_limit_window_seconds
    login_limit_per_ip: int = 20  # sign-in attempts per IP per window
    signup_limit_per_ip: int = 5  # sign-ups (and reset requests) per IP per window
    rate_limit_window_seconds: int = 900

    # search
    embed_in_background: bool = True  # the serve worker embeds new papers
    embedding_device: str = "auto"  # auto | cpu | cuda
    embedding_threads: int = 1  # torch CPU threads; 1 keeps queries fast on shared cores (0 = torch default)
    index_sync_in_background: bool = True  # `serve` runs the sync loop that keeps this node's indexes current
    index_sync_seconds: float = 1.0  # how often the sync loop looks at the change sequence
    vector_refresh_seconds: float = 30.0  # at most this often a new vector snapshot (it reads every vector)
    embed_lease_seconds: int = 600  # an embedder's claim on a chunk; a killed embedder's claim expires
    # the serve worker also extracts key phrases (index/keywordworker.py); only where
    # embed_in_background is on too, which is the switch for all background index work
    keywords_in_background: bool = True

    # mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "paperfeed <paperfeed@localhost>"
    mail_dry_run_dir: Path | None = None  # when set, mails are written as .eml files here

    # digests
    digest_scheduler: bool = False  # `serve` sends digests itself at digest_send_hour (UTC)
    digest_send_hour: int = 7
    digest_batch_size: int = 200  # deliveries claimed per batch
    digest_smtp_connections: int = 4  # parallel SMTP connections, each reused for the whole run
    digest_lease_seconds: int = 300  # a claim older than this is taken over (killed sender)
    digest_max_attempts: int = 5  # temporary failures (4xx, connection) before giving up
    digest_retry_base_seconds: float = 30.0  # backoff: base * 2**(attempt-1)
    digest_max_bounces: int = 3  # permanent failures (5xx) before a subscriber is paused
    digest_confirm_ttl_hours: int = 48
    digest_confirm_interval_minutes: int = 10  # at most one confirmation mail per address per interval
    digest_ip_limit: int = 10  # subscribe requests per IP per 10 minutes
    digest_unsubscribe_email: str | None = None  # mailto: in List-Unsubscribe; default: mail_from's address

    # accounts and abuse limits (issue 12)
    login_limit_per_account_all_ips: int = 50  # failed sign-ins per account from all IPs per window
    comment_limit: int = 10  # comments per user per comment_limit_window_seconds
    comment_limit_window_seconds: int = 600

    # operations (issue #11)
    database_connect_wait_seconds: float = 30.0  # `serve` retries an unreachable database this long at start
    digest_lease_renew_fraction: float = 1 / 3  # a sender renews its claims every lease * this (at most 10 s)

    # scheduled jobs (paperfeed worker; serve too unless run_jobs_in_web is false)
    # Scheduled fetching is on once categories are named, e.g. PAPERFEED_FETCH_CATEGORIES=cs.LG,cs.CL
    fetch_categories: Annotated[list[str], NoDecode] = []
    fetch_sources: Annotated[list[str], NoDecode] = ["rss", "oai", "hf"]  # oai: catch-up after downtime
    # arXiv announces Sun-Thu 20:00 US Eastern, i.e. Mon-Fri 00:00 (EDT) or 01:00 (EST) UTC;
    # any hour from 1 on is after the announcement all year
    fetch_hour_utc: int = 2
    hf_fetch_every_hours: int = 6  # HF's page fills during the day and its votes keep changing
    fetch_catchup_max_days: int = 14  # how far back a catch-up reaches when nothing was harvested yet
    fetch_mirror_url: str | None = None  # send fetch requests here, paths kept (a caching mirror; tests)
    run_jobs_in_web: bool = True  # `serve` runs the scheduled jobs too; a claim keeps them to one runner
    job_lease_seconds: int = 600  # renewed while a job runs; a dead runner's claim lapses after this
    job_retry_minutes: int = 15  # a failed job retries after 15, 30, 60 ... minutes, up to its next slot
    job_check_seconds: float = 60.0

    # first-page thumbnails (issue 19): made by the scheduled jobs while the instance fetches on
    # its own (fetch_categories); `paperfeed thumbnails run` makes them on any instance
    thumbnails: bool = True  # false: no PDF traffic at all
    thumbnail_pdf_base_url: str = "https://arxiv.org/pdf/"  # the only PDF source: {base}{arxiv id}
    thumbnail_max_pdf_bytes: int = 25 * 1024 * 1024  # a larger PDF is refused; reading stops at the cap
    thumbnail_every_minutes: int = 2  # how often the job looks for papers without a thumbnail
    thumbnail_batch: int = 100  # papers per run at most (five minutes at arXiv's 3 s spacing)
    thumbnail_days: int = 14  # day pages this many days back from the newest one are worked through
    thumbnail_max_attempts: int = 4  # temporary failures (5xx, timeouts) before a paper is given up
    thumbnail_retry_minutes: int = 60  # then 120, 240 ... between attempts
    thumbnail_lease_seconds: int = 300  # a claimed paper is taken over after this (a killed worker)
    # the "All new" view of day/week/month pages: these categories (cs.LG, or cs for all cs.*);
    # empty: the fetch categories, and when those are empty too, every category
    listing_categories: Annotated[list[str], NoDecode] = []

    # anonymous page and read-API answers kept in memory, keyed by the change sequence (0: off)
    page_cache_entries: int = 512

    # webhooks, saved-search alerts and reply notifications (issue 18)
    webhook_allow_private: bool = False  # let targets resolve to private/loopback/link-local addresses (SSRF risk)
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 6  # 5xx, timeouts and connection errors are retried this often, with backoff
    webhook_retry_base_seconds: float = 30.0  # backoff: base * 2**(attempt-1)
    webhook_max_failures: int = 5  # consecutive failed calls before a webhook is disabled
    webhook_lease_seconds: int = 120  # a worker's claim on a delivery; a killed worker's lapses
    notify_in_background: bool = True  # `serve`/`worker` deliver webhooks and mails, run alerts
    notify_every_minutes: int = 1  # how often the delivery job runs
    saved_search_every_hours: int = 1  # how often saved searches look for new matches
    trending_webhook_hour_utc: int = 8  # the daily trending picks go to webhooks at this hour

    config_file: Path | None = None

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        """"10.0.0.1, 10.1.0.0/16" from the environment; a list from TOML. Each entry must be
        an IP address or network, so a typo fails at start rather than trusting nobody."""
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            return items
        out = [str(item).strip() for item in items if str(item).strip()]
        for item in out:
            ipaddress.ip_network(item, strict=False)  # ValueError -> a validation error
        return out

    @field_validator("fetch_categories", "fetch_sources", "listing_categories", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        # environment variables and TOML strings name lists as "cs.LG,cs.CL"
        if isinstance(value, str):
            return [part.strip() for part in value.replace("+", ",").split(",") if part.strip()]
        return value

    @field_validator("fetch_sources")
    @classmethod
    def _known_sources(cls, value: list[str]) -> list[str]:
        unknown = set(value) - {"rss", "oai", "hf"}
        if unknown:
            raise ValueError(f"unknown fetch sources {sorted(unknown)}; use rss, oai, hf")
        return value

    @field_validator("thumbnail_pdf_base_url")
    @classmethod
    def _pdf_base(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("thumbnail_pdf_base_url must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("fetch_hour_utc")
    @classmethod
    def _hour(cls, value: int) -> int:
        if not 0 <= value <= 23:
            raise ValueError("fetch_hour_utc is an hour, 0-23")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = _config_path(init_settings)
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'paperfeed.db').resolve()}"

    @property
    def instance_categories(self) -> tuple[str, ...]:
        """What "All new" lists: the listing categories, else the fetched ones, else all (empty)."""
        return tuple(self.listing_categories or self.fetch_categories)

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def index_dir(self) -> Path:
        path = self.data_dir / "index"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def signing_key(self) -> bytes:
        """The key for signed tokens and cookies; generated once per instance if not configured."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()

    @property
    def user_agent(self) -> str:
        contact = f"; mailto:{self.contact_email}" if self.contact_email else ""
        return f"paperfeed/0.1 (+https://github.com/paperfeed/paperfeed{contact})"


def _config_path(init_settings: PydanticBaseSettingsSource) -> Path | None:
    explicit = init_settings().get("config_file")
    path = explicit or os.environ.get("PAPERFEED_CONFIG")
    return Path(path) if path else None


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    if config_file is not None:
        overrides["config_file"] = Path(config_file)
    return Settings(**overrides)
