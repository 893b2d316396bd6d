"""Alembic environment: the engine is handed in by paperfeed.db, never read from a file.

Several processes may start at once on a new release (``serve --workers 2``, a worker, other
nodes): migrations hold a lock for their whole transaction, so one migrates and the others
wait, then find nothing left to do.
"""

import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

from paperfeed.models import Base

# SQLite batch migrations reflect the tables they touch; SQLAlchemy cannot reflect the
# ``lower(doi)`` expression index and said so on every fresh install. No migration after the
# one that creates it rebuilds ``paper``, so the index stays and the warning is noise.
warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index",
                        category=SAWarning)

config = context.config
engine = config.attributes["engine"]
MIGRATION_LOCK = 7240511  # any constant: PostgreSQL advisory locks are named by a number


def lock_for_migrating(connection) -> None:
    if connection.dialect.name == "sqlite":
        # pysqlite opens no transaction for DDL by itself: without this each CREATE commits
        # alone and two processes run the same migration side by side
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")


with engine.begin() as connection:
    lock_for_migrating(connection)
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
