"""All tables. Each feature keeps its tables in its own module; import them here so
Alembic and ``Base.metadata`` see every one."""

from paperfeed.models.base import Base, utcnow
from paperfeed.models.paper import DailyEntry, HarvestState, Paper

__all__ = ["Base", "DailyEntry", "HarvestState", "Paper", "utcnow"]
