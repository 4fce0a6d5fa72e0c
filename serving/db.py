"""Durable state: reviewer feedback and live lexicon edits (SQLAlchemy 2, SQLite by default)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, create_engine, event, func, select
from sqlalchemy.types import TypeDecorator
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware UTC time")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class Feedback(Base):
    """A reviewer's labels for a post (by text, by id, or both)."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    post_id: Mapped[str | None] = mapped_column(String(256), index=True)
    text: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    decision: Mapped[str | None] = mapped_column(String(16))
    reviewer: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)


class LexiconEdit(Base):
    """One applied lexicon edit; all edits are replayed, in id order, over the shipped lexicon."""

    __tablename__ = "lexicon_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edits: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite, creates the parent directory and enables WAL + busy timeout."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # several uvicorn workers share one file
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


def init_db(engine: Engine) -> sessionmaker[Session]:
    """Create missing tables and return a session factory."""
    Base.metadata.create_all(engine)
    return sessionmaker(bind=engine, expire_on_commit=False)


def lexicon_edits_after(session: Session, after_id: int = 0) -> list[LexiconEdit]:
    """Edits with an id above ``after_id``, oldest first."""
    return list(session.scalars(select(LexiconEdit).where(LexiconEdit.id > after_id).order_by(LexiconEdit.id)))


def last_lexicon_edit_id(session: Session) -> int:
    return int(session.scalar(select(func.max(LexiconEdit.id))) or 0)


def redact_url(url: str) -> str:
    """The URL with any password hidden, for logs and /v1/model."""
    return make_url(url).render_as_string(hide_password=True)
