"""What the app holds while it runs: classifier snapshot, moderator, database, live lexicon."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from model.classifier import ENGINE_FALLBACK, ENGINE_MODEL, ENGINE_RULES, Classifier
from model.rules import RuleEngine
from serving.db import init_db, make_engine, redact_url
from serving.engine import Moderator
from serving.live_lexicon import LiveLexicon
from serving.metrics import Metrics
from serving.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class AppState:
    settings: Settings
    metrics: Metrics
    classifier: Classifier
    moderator: Moderator
    db_engine: Engine
    sessions: sessionmaker[Session]
    lexicon: LiveLexicon = field(init=False)

    @property
    def degraded(self) -> bool:
        return self.classifier.degraded_reason is not None

    @property
    def engine_name(self) -> str:
        clf = self.classifier
        if self.moderator.uses_model(clf):
            return ENGINE_MODEL
        return ENGINE_FALLBACK if (clf.model is not None or clf.linear is not None) else ENGINE_RULES

    def install_rules(self, rules: RuleEngine) -> None:
        """Swap in new rules: requests already running keep the classifier snapshot they took."""
        clf = copy.copy(self.classifier)
        clf.rules = rules
        self.classifier = clf

    def check_database(self) -> str:
        try:
            with self.sessions() as session:
                session.execute(text("SELECT 1"))
            return "ok"
        except Exception as exc:  # readiness reports any failure instead of raising it
            logger.warning("database check failed: %s", type(exc).__name__)
            return type(exc).__name__

    def close(self) -> None:
        self.moderator.close()
        self.db_engine.dispose()


def build_state(settings: Settings, metrics: Metrics, classifier: Classifier | None = None) -> AppState:
    """Open the database, load the classifier (degrading if needed), apply thresholds and lexicon edits."""
    url = settings.resolved_database_url
    db_engine = make_engine(url)
    sessions = init_db(db_engine)
    logger.info("database: %s", redact_url(url))
    if classifier is None:
        from model.loading import load_classifier  # heavy (ONNX Runtime, scikit-learn): only when needed

        classifier = load_classifier(settings.artifact_path, threads=settings.model_threads)
    clf = copy.copy(classifier)
    if settings.thresholds:  # a platform's thresholds hold whichever engine answers
        clf.policy = clf.policy.with_overrides(settings.thresholds)
        clf.fallback_policy = clf.fallback_policy.with_overrides(settings.thresholds)
    if clf.degraded_reason is not None:
        logger.warning("serving DEGRADED (engine %s): %s", "fallback" if clf.linear is not None else "rules",
                       clf.degraded_reason)
    moderator = Moderator(budget_ms=settings.model_budget_ms, budget_per_item_ms=settings.model_budget_per_item_ms,
                          workers=settings.model_workers, max_pending=settings.model_max_pending,
                          fallback_only=settings.fallback_only, max_batch=settings.model_batch_max)
    state = AppState(settings, metrics, clf, moderator, db_engine, sessions)
    state.lexicon = LiveLexicon(clf.rules.lexicon, state.install_rules)
    state.lexicon.refresh(sessions)
    metrics.degraded.set(1 if state.degraded else 0)
    metrics.lexicon_edits.set(state.lexicon.applied)
    logger.info("ready: engine %s, model %s, lexicon %s", state.engine_name, clf.version, state.lexicon.current.version)
    return state
