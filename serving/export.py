"""Feedback -> corpus-schema JSONL rows (id, text, labels, lang, group, source, note) for retraining."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any, Iterable, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from model.labels import LABEL_INDEX, check_labels
from serving.db import Feedback

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LATIN_WORD = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]{2,}")
# Fitted on the hand-labelled seed set (97% agreement): a Chinese post with a few brand names or
# tickers stays "zh"; it is "mixed" from 4 Latin words making up a fifth of the tokens.
MIXED_MIN_WORDS = 4
MIXED_MIN_SHARE = 0.2


def guess_lang(text: str) -> str:
    """``zh``, ``en`` or ``mixed``, from Han characters versus Latin words."""
    han = len(_HAN.findall(text))
    words = len(_LATIN_WORD.findall(text))
    if han == 0:
        return "en"
    if words >= MIXED_MIN_WORDS and words / (words + han) >= MIXED_MIN_SHARE:
        return "mixed"
    return "zh"


@dataclass(slots=True)
class ExportStats:
    written: int = 0
    without_text: int = 0
    superseded: int = 0


def feedback_rows(session: Session, since: date | None = None) -> Iterable[Feedback]:
    query = select(Feedback).order_by(Feedback.id)
    if since is not None:
        query = query.where(Feedback.created_at >= datetime.combine(since, time.min, tzinfo=timezone.utc))
    return session.scalars(query)


def to_corpus_row(fb: Feedback) -> dict[str, Any]:
    """One corpus row; raises ValueError for feedback without text (it cannot be trained on)."""
    if not fb.text:
        raise ValueError(f"feedback {fb.id} has no text")
    notes = [fb.note] if fb.note else []
    if fb.post_id:
        notes.append(f"post id {fb.post_id}")
    if fb.reviewer:
        notes.append(f"reviewer {fb.reviewer}")
    if fb.decision:
        notes.append(f"service said {fb.decision}")
    created = fb.created_at if fb.created_at.tzinfo else fb.created_at.replace(tzinfo=timezone.utc)
    return {
        "id": f"FB-{fb.id:06d}",
        "text": fb.text,
        "labels": sorted(set(check_labels(list(fb.labels or []))), key=LABEL_INDEX.__getitem__),
        "lang": guess_lang(fb.text),
        "group": f"feedback-{created.date().isoformat()}",
        "source": "feedback",
        "note": "; ".join(notes) or "reviewer feedback",
    }


def export_feedback(session: Session, out: TextIO, since: date | None = None) -> ExportStats:
    """Write one row per distinct text (the latest verdict wins) in feedback order."""
    stats = ExportStats()
    latest: dict[str, Feedback] = {}
    for fb in feedback_rows(session, since):
        if not fb.text:
            stats.without_text += 1
            continue
        if fb.text in latest:
            stats.superseded += 1
            del latest[fb.text]  # re-insert so the order follows the newest verdict
        latest[fb.text] = fb
    for fb in sorted(latest.values(), key=lambda f: f.id):
        out.write(json.dumps(to_corpus_row(fb), ensure_ascii=False) + "\n")
        stats.written += 1
    return stats
