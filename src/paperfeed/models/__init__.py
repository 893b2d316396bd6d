"""All tables. Each feature keeps its tables in its own module; import them here so
Alembic and ``Base.metadata`` see every one."""

from paperfeed.models.base import Base, utcnow
from paperfeed.models.paper import DailyEntry, HarvestState, Paper
from paperfeed.models.digest import DigestDelivery, DigestSubscriber
from paperfeed.models.search import EmbeddingClaim, PaperEmbedding  # noqa: F401
from paperfeed.models.changes import ChangeCounter  # noqa: F401
from paperfeed.models.jobs import JobRun  # noqa: F401
from paperfeed.models.thumbnails import Thumbnail  # noqa: F401
from paperfeed.models.keywords import KeywordClaim  # noqa: F401
from paperfeed.models.collections import Collection, CollectionFollow, CollectionItem  # noqa: F401
from paperfeed.models.authors import AuthorFollow, AuthorName  # noqa: F401
from paperfeed.models.community import ApiToken, AuditLog, Comment, EmailToken, RateLimitHit, User, UserSession, Vote  # noqa: F401

__all__ = ["Base", "DailyEntry", "DigestDelivery", "DigestSubscriber", "HarvestState", "Paper", "utcnow"]
from paperfeed.models.notify import Notification, NotifyEvent, NotifyPreference, SavedSearch, Webhook, WebhookCall, WebhookDelivery  # noqa: F401
from paperfeed.models.foryou import NotInterested  # noqa: F401,E402
