"""Table-driven rule cases: every label, every evasion trick, every must-allow class.

Each case in ``cases/rules_cases.jsonl`` carries a ``why`` explaining what it exercises.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.classifier import Classifier

CASES = [json.loads(line) for line in (Path(__file__).parent / "cases" / "rules_cases.jsonl").read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier()


@pytest.mark.parametrize("case", CASES, ids=[c["why"] for c in CASES])
def test_case(clf: Classifier, case: dict) -> None:
    result = clf.classify(case["text"])
    actions = {item["label"]: item["action"] for item in result.labels}
    if case["expect"] == "allow":
        assert result.decision == "allow", (case["why"], result.to_dict())
    else:
        assert result.decision in ("review", "block"), (case["why"], result.to_dict())
        for label in case["labels"]:
            assert actions[label] != "allow", (case["why"], label, result.to_dict())
    for label in case["not_labels"]:
        assert actions[label] == "allow", (case["why"], label)
    matched = {e.matched for e in result.evidence}
    for expected in case["evidence"]:
        assert expected in matched, (case["why"], expected, matched)
    for e in result.evidence:
        assert case["text"][e.start:e.end] == e.matched


def test_table_covers_every_label_and_language() -> None:
    from model.labels import LABELS

    flagged = {label for c in CASES for label in c["labels"]}
    assert flagged == set(LABELS)
    assert sum(c["expect"] == "allow" for c in CASES) >= 20
