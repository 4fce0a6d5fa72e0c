"""Request and response bodies of the HTTP API (pydantic v2), with OpenAPI examples."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from model.labels import LABELS
from model.lexicon import CONTEXT_PREFIX, TIER_NAMES

LabelName = Literal[LABELS]  # type: ignore[valid-type]
TierName = Literal[tuple(TIER_NAMES) + tuple(CONTEXT_PREFIX + t for t in TIER_NAMES)]  # type: ignore[valid-type]
Action = Literal["allow", "review", "block"]
Engine = Literal["model", "fallback", "rules"]


def _valid_unicode(value: str) -> str:
    """Reject lone surrogates (JSON allows ``\\ud800``; UTF-8 and every consumer downstream do not)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"contains an unpaired surrogate at position {exc.start} (not valid Unicode)") from None
    return value


def _id_to_str(value: Any) -> Any:
    """Pipelines often use numeric ids: accept integers and answer them as strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


UText = Annotated[str, AfterValidator(_valid_unicode)]
PostId = Annotated[str, StringConstraints(min_length=1, max_length=256), BeforeValidator(_id_to_str),
                   AfterValidator(_valid_unicode)]
Term = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                 AfterValidator(_valid_unicode)]
ShortText = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_valid_unicode)]
ContextValue = str | int | float | bool | None

SPAM_EXAMPLE = "币安注册 binance.com/join?ref=VC88A1 邀请码 VC88A1，返佣30%！加V❤ moon_trader88 拉你进群"


# --- moderation ---------------------------------------------------------------------------------
class ModerateRequest(BaseModel):
    """One post to classify."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "post-1", "text": SPAM_EXAMPLE, "context": {"platform": "tieba", "surface": "comment"}}]})

    text: UText = Field(description="the post text as published; evidence offsets index it (code points)")
    id: PostId | None = Field(None, description="your id for the post, echoed back (generated when absent)")
    context: dict[str, ContextValue] | None = Field(
        None, max_length=32, description="free-form metadata (platform, surface, ...); not classified or stored")


class LabelScore(BaseModel):
    label: LabelName
    score: float = Field(description="blended score in [0, 1] the decision used")
    action: Action
    reason_code: str | None = Field(description="stable machine-readable code when the label is flagged")
    rule_score: float
    model_score: float | None = None
    linear_score: float | None = None


class EvidenceItem(BaseModel):
    label: LabelName
    kind: str = Field(description="term, domain, handle, invite_code, wallet, qr_lure or promo_cue")
    rule_id: str
    matched: str = Field(description="text[start:end] of the text as sent")
    start: int
    end: int
    weight: float


class Handle(BaseModel):
    kind: str
    value: str


class Wallet(BaseModel):
    kind: str
    address: str


class Entities(BaseModel):
    urls: list[str] = []
    domains: list[str] = []
    handles: list[Handle] = []
    invite_codes: list[str] = []
    wallets: list[Wallet] = []


class ModerateResponse(BaseModel):
    """A decision with the evidence behind it. A policy decision is never an HTTP error."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "post-1", "decision": "block", "reasons": ["VC05_EXCHANGE_LINK"],
        "labels": [{"label": "exchange_link", "score": 0.9923, "action": "block", "reason_code": "VC05_EXCHANGE_LINK",
                    "rule_score": 0.9923, "model_score": None, "linear_score": None}],
        "evidence": [{"label": "exchange_link", "kind": "domain", "rule_id": "domain:binance",
                      "matched": "binance.com/join?ref=VC88A1", "start": 5, "end": 32, "weight": 0.85}],
        "entities": {"urls": ["binance.com/join?ref=VC88A1"], "domains": ["binance.com"],
                     "handles": [{"kind": "wechat", "value": "moon_trader88"}], "invite_codes": ["VC88A1"],
                     "wallets": []},
        "engine": "model", "model_version": "2026.12.01", "lexicon_version": "2026.11.23-1",
        "latency_ms": 4.2, "degraded": False, "notes": []}]})

    id: str
    decision: Action
    reasons: list[str] = Field(description="reason codes of the flagged labels, in label order")
    labels: list[LabelScore]
    evidence: list[EvidenceItem]
    entities: Entities
    engine: Engine = Field(description="model (the transformer scored the post, or the screen cleared it: note "
                                       "screened_out); fallback (rules + linear scorer); rules (keyword rules only)")
    model_version: str
    lexicon_version: str
    latency_ms: float
    degraded: bool = Field(description="true when the model could not be loaded at startup")
    notes: list[str] = Field(description="e.g. empty_text, model_time_budget_exceeded, screened_out (no rule "
                                         "hit and near-zero linear scores: decided without the transformer)")


class BatchRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [
        {"id": "a", "text": "收U 出U 大量现金秒到"}, {"id": "b", "text": "扫码点餐，欢迎光临"}]}]})

    items: list[ModerateRequest] = Field(min_length=1, description="answered in the same order")


class BatchResponse(BaseModel):
    items: list[ModerateResponse]
    count: int
    latency_ms: float
    degraded: bool


# --- feedback ---------------------------------------------------------------------------------
class FeedbackRequest(BaseModel):
    """A reviewer's verdict: the labels a post should carry (empty list = it should be allowed)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "post-1", "text": "大饼姨太梭哈，上车价速来", "labels": ["crypto_marketing"], "decision": "allow",
         "reviewer": "t&s-7", "note": "slang missed by the model"}]})

    id: PostId | None = Field(None, description="the post id given to /v1/moderate")
    text: UText | None = Field(None, description="the post text (needed to export the row for retraining)")
    labels: list[LabelName] = Field(max_length=len(LABELS), description="the correct labels")
    decision: Action | None = Field(None, description="the decision the service gave, if known")
    reviewer: Annotated[str, StringConstraints(max_length=128), AfterValidator(_valid_unicode)] | None = None
    note: ShortText | None = None

    @model_validator(mode="after")
    def _text_or_id(self) -> "FeedbackRequest":
        if self.text is None and self.id is None:
            raise ValueError("give the post's text, its id, or both")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must not repeat, got {self.labels}")
        return self


class FeedbackResponse(BaseModel):
    feedback_id: int
    created_at: datetime


# --- lexicon ----------------------------------------------------------------------------------
TermList = Annotated[list[Term], Field(max_length=500)]


class LexiconEditRequest(BaseModel):
    """Terms to add or remove; applied at once, persisted, replayed at every start."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"add": {"crypto_marketing": {"strong": ["暴富群"]}, "stablecoin_otc": {"ctx_medium": ["u兑"]}},
         "remove": {"crypto_marketing": ["代币"]}, "allow_add": ["游戏代币"], "allow_remove": [],
         "note": "new slang seen in reports this morning"}]})

    add: dict[LabelName, dict[TierName, TermList]] = Field(
        default_factory=dict, description="block terms to add: {label: {tier: [terms]}}; ctx_ tiers need crypto context")
    remove: dict[LabelName, TermList] = Field(
        default_factory=dict, description="block terms to remove from every tier of a label")
    allow_add: TermList = Field(default_factory=list, description="allow-contexts to add (suppress overlapping hits)")
    allow_remove: TermList = Field(default_factory=list, description="allow-contexts to remove")
    note: ShortText | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> "LexiconEditRequest":
        if not (any(terms for tiers in self.add.values() for terms in tiers.values()) or any(self.remove.values())
                or self.allow_add or self.allow_remove):
            raise ValueError("the edit changes nothing: give terms under add, remove, allow_add or allow_remove")
        return self

    def to_edits(self) -> dict[str, Any]:
        """The edit document ``Lexicon.with_edits`` takes (empty parts left out)."""
        edits: dict[str, Any] = {}
        add = {label: {tier: terms for tier, terms in tiers.items() if terms} for label, tiers in self.add.items()}
        add = {label: tiers for label, tiers in add.items() if tiers}
        remove = {label: terms for label, terms in self.remove.items() if terms}
        for key, value in (("add", add), ("remove", remove), ("allow_add", self.allow_add),
                           ("allow_remove", self.allow_remove)):
            if value:
                edits[key] = value
        return edits


class LexiconEditRecord(BaseModel):
    id: int
    created_at: datetime
    edits: dict[str, Any]
    actor: str | None
    note: str | None


class LexiconResponse(BaseModel):
    version: str = Field(description="shipped version + '+e<last edit id>' once edits are applied")
    digest: str
    base_version: str
    edits_applied: int
    edits_skipped: int = Field(description="stored edits that no longer apply to the shipped lexicon")
    labels: dict[str, dict[str, list[str]]] = Field(description="block terms per label and tier")
    allow: list[str]
    history: list[LexiconEditRecord] = Field(description="the most recent edits, newest first")


# --- meta -------------------------------------------------------------------------------------
class LabelInfo(BaseModel):
    label: LabelName
    description: str
    reason_code: str
    block: float = Field(description="block threshold when the model answers")
    review: float
    fallback_block: float = Field(description="block threshold when the fallback answers")
    fallback_review: float


class ModelInfo(BaseModel):
    model_version: str
    engine: Engine = Field(description="the engine a request gets now (before any time-budget fallback)")
    degraded: bool
    degraded_reason: str | None
    lexicon_version: str
    thresholds: dict[str, dict[str, float]]
    fallback_thresholds: dict[str, dict[str, float]]
    model_budget_ms: float
    max_text_chars: int
    max_batch_items: int


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    status: Literal["ok", "degraded", "starting"]
    degraded: bool
    degraded_reason: str | None = None
    engine: Engine | None = None
    model_version: str | None = None
    lexicon_version: str | None = None
    database: str = Field(description="ok, or the error class of the last check")


class ErrorResponse(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: str
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    detail: str
    errors: list[FieldError]
