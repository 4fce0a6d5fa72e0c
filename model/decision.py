"""The one decision function: label scores -> block / review / allow, with reason codes.

Everything here is pure: no I/O, no model calls. Scores from several sources are first merged by
:func:`combine_scores`, then :func:`decide` applies per-label thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from model.labels import LABELS, check_labels

ACTIONS: tuple[str, ...] = ("allow", "review", "block")
# Stable, machine-readable reason codes: pipelines key on these, so never renumber them.
REASON_CODES: dict[str, str] = {
    "crypto_marketing": "VC01_CRYPTO_MARKETING",
    "stablecoin_otc": "VC02_STABLECOIN_OTC",
    "rwa_token": "VC03_RWA_TOKEN",
    "mining": "VC04_MINING",
    "exchange_link": "VC05_EXCHANGE_LINK",
    "qr_lure": "VC06_QR_LURE",
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Scores at or above ``block`` block; at or above ``review`` go to a person."""

    block: float
    review: float

    def __post_init__(self) -> None:
        for name in ("block", "review"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"threshold {name}={value!r} must be a number in [0, 1]")
        if self.review > self.block:
            raise ValueError(f"review threshold {self.review} is above block threshold {self.block}")


@dataclass(frozen=True, slots=True)
class Policy:
    """Per-label thresholds. Labels missing from ``thresholds`` use ``default``."""

    thresholds: Mapping[str, Thresholds] = field(default_factory=dict)
    default: Thresholds = Thresholds(block=0.85, review=0.6)

    def __post_init__(self) -> None:
        check_labels(list(self.thresholds))

    def for_label(self, label: str) -> Thresholds:
        return self.thresholds.get(label, self.default)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Mapping[str, float]], default: Thresholds | None = None) -> "Policy":
        """Build from ``{label: {"block": x, "review": y}}`` (as stored in an artifact or settings)."""
        parsed = {}
        for label, pair in data.items():
            if not isinstance(pair, Mapping) or set(pair) != {"block", "review"}:
                raise ValueError(f"thresholds for {label!r} need exactly 'block' and 'review', got {pair!r}")
            parsed[label] = Thresholds(block=float(pair["block"]), review=float(pair["review"]))
        return cls(thresholds=parsed, default=default or Thresholds(block=0.85, review=0.6))

    def to_mapping(self) -> dict[str, dict[str, float]]:
        return {label: {"block": self.for_label(label).block, "review": self.for_label(label).review}
                for label in LABELS}

    def with_overrides(self, overrides: Mapping[str, Mapping[str, float]]) -> "Policy":
        merged = self.to_mapping()
        for label, pair in overrides.items():
            check_labels([label])
            merged[label] = {**merged[label], **pair}
        return Policy.from_mapping(merged, self.default)


@dataclass(frozen=True, slots=True)
class LabelVerdict:
    label: str
    score: float
    action: str
    reason_code: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    decision: str
    labels: tuple[LabelVerdict, ...]

    @property
    def flagged(self) -> tuple[LabelVerdict, ...]:
        return tuple(v for v in self.labels if v.action != "allow")


@dataclass(frozen=True, slots=True)
class Blend:
    """How model, linear and rule scores merge into one score per label.

    The learned score is ``model_weight * model + (1 - model_weight) * linear`` (whichever exist);
    a rule score at or above ``rule_override`` is trusted on its own (an exact exchange domain with
    an invite code needs no model), and with no learned scorer the rule score is used as is.
    """

    model_weight: float = 0.8
    rule_override: float = 0.95
    # Screening: a post with no rule hit whose highest linear score is below this skips the
    # transformer and is decided like the fallback (0 turns screening off).
    screen_below: float = 0.0
    # A post that a keyword rule matched and that the fallback (rules + linear, with its own
    # thresholds) already blocks skips the transformer too, and keeps the fallback's decision.
    screen_blocks: bool = False

    def __post_init__(self) -> None:
        for name in ("model_weight", "rule_override", "screen_below"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"blend {name}={value!r} must be a number in [0, 1]")
        if not isinstance(self.screen_blocks, bool):
            raise TypeError(f"blend screen_blocks={self.screen_blocks!r} must be true or false")

    @property
    def screens(self) -> bool:
        """Whether any post may skip the transformer."""
        return self.screen_below > 0.0 or self.screen_blocks


def screened(rule_scores: Mapping[str, float], linear_scores: Mapping[str, float] | None, blend: Blend,
             fallback_policy: Policy | None = None) -> bool:
    """Whether a post can skip the transformer: no rule matched and the linear scorer sees nothing,
    or (with ``blend.screen_blocks`` and a ``fallback_policy``) a rule matched and the fallback
    already blocks it."""
    if linear_scores is None:
        return False
    rule_hit = max(rule_scores.values(), default=0.0) > 0.0
    if not rule_hit:
        return blend.screen_below > 0.0 and max(linear_scores.values()) < blend.screen_below
    if not blend.screen_blocks or fallback_policy is None:
        return False
    return decide(combine_scores(rule_scores, None, linear_scores, blend), fallback_policy).decision == "block"


def combine_scores(
    rule_scores: Mapping[str, float],
    model_scores: Mapping[str, float] | None = None,
    linear_scores: Mapping[str, float] | None = None,
    blend: Blend = Blend(),
) -> dict[str, float]:
    """Merge the available score sources into one score per label (see :class:`Blend`)."""
    combined: dict[str, float] = {}
    for label in LABELS:
        rule = float(rule_scores.get(label, 0.0))
        if model_scores is not None and linear_scores is not None:
            learned = blend.model_weight * model_scores[label] + (1 - blend.model_weight) * linear_scores[label]
        elif model_scores is not None:
            learned = float(model_scores[label])
        elif linear_scores is not None:
            learned = float(linear_scores[label])
        else:
            combined[label] = rule
            continue
        combined[label] = max(learned, rule) if rule >= blend.rule_override else learned
    return combined


def decide(scores: Mapping[str, float], policy: Policy) -> Decision:
    """Turn per-label scores into per-label actions and the post's overall decision."""
    verdicts = []
    worst = 0
    for label in LABELS:
        score = float(scores.get(label, 0.0))
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"score for {label!r} must be in [0, 1], got {score!r}")
        t = policy.for_label(label)
        action = "block" if score >= t.block else "review" if score >= t.review else "allow"
        worst = max(worst, ACTIONS.index(action))
        verdicts.append(LabelVerdict(label, round(score, 4), action, REASON_CODES[label] if action != "allow" else None))
    return Decision(ACTIONS[worst], tuple(verdicts))
