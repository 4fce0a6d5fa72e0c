"""Live lexicon edits: validated, persisted, applied to the running service, replayed at start.

Every stored edit is replayed, in id order, over the lexicon the classifier was loaded with. The
resulting version is ``<shipped version>+e<last edit id>``, identical in every worker process
that has seen the same edits; workers pick up each other's edits by polling (``refresh``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker

from model.lexicon import Lexicon
from model.rules import RuleEngine
from serving.db import LexiconEdit, last_lexicon_edit_id, lexicon_edits_after

logger = logging.getLogger(__name__)


class LiveLexicon:
    """The current lexicon = shipped lexicon + stored edits; ``install`` swaps it into the service."""

    def __init__(self, base: Lexicon, install: Callable[[RuleEngine], None]) -> None:
        self.base = base
        self.base_version = base.version
        self.current = base
        self.last_edit_id = 0
        self.applied = 0
        self.skipped = 0
        self._install = install
        self._lock = threading.Lock()

    def refresh(self, sessions: sessionmaker[Session]) -> bool:
        """Apply edits stored since the last look (by this or another worker); True if any."""
        with self._lock, sessions() as session:
            if last_lexicon_edit_id(session) <= self.last_edit_id:
                return False
            return self._catch_up(session)

    def apply(self, session: Session, edits: dict[str, Any], *, actor: str | None, note: str | None) -> LexiconEdit:
        """Validate ``edits`` (ValueError when invalid), store them, then switch the service to them."""
        with self._lock:
            self._catch_up(session)
            candidate = self.current.with_edits(edits)  # raises ValueError before anything is stored
            row = LexiconEdit(edits=edits, actor=actor, note=note)
            session.add(row)
            session.commit()
            # Edits stored by another worker between our catch-up and commit sit below row.id.
            if self._catch_up(session, upto=row.id - 1):
                candidate = self.current.with_edits(edits)
            self._switch(candidate, row.id, self.applied + 1, self.skipped)
            logger.info("lexicon edit %d applied by %s: now %s", row.id, actor or "anonymous", self.current.version)
            return row

    def _catch_up(self, session: Session, upto: int | None = None) -> bool:
        rows = [r for r in lexicon_edits_after(session, self.last_edit_id) if upto is None or r.id <= upto]
        if not rows:
            return False
        lexicon, applied, skipped = self.current, self.applied, self.skipped
        for row in rows:
            try:
                lexicon = lexicon.with_edits(row.edits)
                applied += 1
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                skipped += 1
                logger.warning("stored lexicon edit %d no longer applies, skipped: %s", row.id, exc)
        self._switch(lexicon, rows[-1].id, applied, skipped)
        return True

    def _switch(self, lexicon: Lexicon, last_id: int, applied: int, skipped: int) -> None:
        if lexicon is self.base:  # every stored edit was skipped: keep the shipped document intact
            lexicon = Lexicon.from_document(self.base.document)
        lexicon.document["version"] = f"{self.base_version}+e{last_id}"
        engine = RuleEngine(lexicon)
        self.current, self.last_edit_id, self.applied, self.skipped = lexicon, last_id, applied, skipped
        self._install(engine)
