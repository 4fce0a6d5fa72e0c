"""Keyword-rule engine: lexicon terms (Aho-Corasick), entity extraction and lure patterns.

``RuleEngine.analyze`` turns a post into per-label rule scores and evidence items whose
``start``/``end`` index the raw text exactly. It is both the fallback scorer and the evidence
layer every decision cites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import ahocorasick

from model.labels import LABELS
from model.lexicon import Lexicon, Term, default_lexicon
from model.normalize import NormalizedText, normalize, normalize_term, _TLDS

NEWS_WINDOW = 40
PROMO_WINDOW = 60
LURE_WINDOW = 40
NEWS_DAMPING = 0.35
PROMO_BOOST = (0.0, 0.35, 0.5)
WEAK_CUTOFF = 0.5
MAX_WEAK_SIGNALS = 2  # by the number of distinct promo cues near a label's hits

_CONTEXT_LABELS = frozenset(LABELS) - {"qr_lure"}
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One reason behind a label score, with a span of the raw text."""

    label: str
    kind: str
    rule_id: str
    matched: str
    start: int
    end: int
    weight: float

    def to_dict(self) -> dict[str, Any]:
        # Spelled out: dataclasses.asdict deep-copies and costs more than classifying a short post.
        return {"label": self.label, "kind": self.kind, "rule_id": self.rule_id, "matched": self.matched,
                "start": self.start, "end": self.end, "weight": self.weight}


@dataclass(slots=True)
class Entities:
    """Links, handles, invite codes and wallet addresses found in a post."""

    urls: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    handles: list[dict[str, str]] = field(default_factory=list)
    invite_codes: list[str] = field(default_factory=list)
    wallets: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"urls": list(self.urls), "domains": list(self.domains), "handles": [dict(h) for h in self.handles],
                "invite_codes": list(self.invite_codes), "wallets": [dict(w) for w in self.wallets]}


@dataclass(slots=True)
class RuleResult:
    scores: dict[str, float]
    evidence: list[Evidence]
    entities: Entities


# --- entity patterns -------------------------------------------------------------------------
_URL = re.compile(
    rf"(?<![A-Za-z0-9.@_-])(?:(?:https?)://)?((?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+"
    rf"(?:{_TLDS}))(?![A-Za-z0-9-])(?::\d{{2,5}})?(/[^\s,，。;；)）\]】\"'<>]*)?",
    re.IGNORECASE,
)
_URL_PARAM_CODE = re.compile(
    r"[?&](?:ref|invite|invitecode|invite_code|inviter|referral|ref_code|refcode|code|channelcode)=([A-Za-z0-9_-]{4,20})",
    re.IGNORECASE,
)
_WALLETS = (
    ("tron", re.compile(r"(?<![A-Za-z0-9])T[1-9A-HJ-NP-Za-km-z]{33}(?![A-Za-z0-9])")),
    ("erc20", re.compile(r"(?<![A-Za-z0-9])0x[0-9a-fA-F]{40}(?![A-Za-z0-9])")),
    ("btc", re.compile(r"(?<![A-Za-z0-9])(?:bc1[02-9ac-hj-np-z]{25,59}|[13][1-9A-HJ-NP-Za-km-z]{25,34})(?![A-Za-z0-9])")),
)
_SEPS = r"[\s:：=\-—~>→@#]*"
# Contact markers are written around filters (V❤, ➕V, 薇): the word view already folded case.
_HANDLES = (
    ("telegram", re.compile(r"(?:t\.me|telegram\.me|telegram\.dog)/(\+?[a-z0-9_]{4,40})")),
    ("telegram", re.compile(rf"(?:纸飞机|飞机|电报|telegram|tg|✈️?)(?:号|群|账号|id)?{_SEPS}@?([a-z][a-z0-9_]{{4,31}})(?![a-z0-9_])")),
    ("wechat", re.compile(rf"(?:微信|v信|vx|wx|weixin|wechat|薇信|威信|薇|卫星|➕v|\+v|加v|v[❤♥❤️💗]+|v){_SEPS}([a-z][a-z0-9_-]{{5,19}})(?![a-z0-9_-])")),
    ("qq", re.compile(rf"(?:qq|扣扣|企鹅|q群){_SEPS}(?:号|群)?{_SEPS}(\d{{5,11}})(?!\d)")),
    ("whatsapp", re.compile(rf"(?:whatsapp|wa\.me/|瓦次普|ws){_SEPS}(\+?\d{{7,15}})(?!\d)")),
    ("discord", re.compile(r"discord(?:\.gg|\.com/invite)/([a-z0-9-]{2,32})")),
    ("at", re.compile(r"(?<![a-z0-9_.])@([a-z][a-z0-9_]{4,31})(?![a-z0-9_@.])")),
)
_INVITE = re.compile(
    rf"(?:邀请码|推荐码|邀请id|注册码|返佣码|推广码|invite code|invitation code|referral code|referral id|ref code|"
    rf"ref id|promo code|code){_SEPS}(?:是|为|填)?{_SEPS}([a-z0-9]{{4,12}})(?![a-z0-9])"
)


class RuleEngine:
    """Compiled lexicon plus entity patterns; ``analyze`` is safe to call from many threads."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or default_lexicon()
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[tuple[str, Any]]] = {}
        for term in self.lexicon.terms:
            entries.setdefault(term.text, []).append(("term", term))
        for kind, words in (
            ("allow", self.lexicon.allow),
            ("promo", self.lexicon.promo_cues),
            ("news", self.lexicon.news_cues),
            ("lure_action", _lure_terms(self.lexicon, "actions")),
            ("lure_target", _lure_terms(self.lexicon, "targets")),
        ):
            for word in words:
                entries.setdefault(word, []).append((kind, word))
        for key, payloads in entries.items():
            self._automaton.add_word(key, (len(key), key[0] in _LATIN, key[-1] in _LATIN, payloads))
        self._automaton.make_automaton()
        names = sorted({b.name for b in self.lexicon.brands} | {a for b in self.lexicon.brands for a in b.aliases if len(a) >= 3}
                       , key=len, reverse=True)
        self._brand_names = tuple(n for n in names if n.isascii())
        self._brand_terms = frozenset(t for b in self.lexicon.brands for t in b.spellings)

    # ------------------------------------------------------------------------------------------
    def analyze(self, text: str | NormalizedText) -> RuleResult:
        """Score ``text`` per label and collect the evidence, with raw-text offsets."""
        norm = text if isinstance(text, NormalizedText) else normalize(text)
        view = norm.text
        hits: list[tuple[int, int, Term]] = []
        allow: list[tuple[int, int]] = []
        promo: list[tuple[int, int, str]] = []
        news: list[int] = []
        actions: list[tuple[int, int]] = []
        targets: list[tuple[int, int]] = []
        for end_idx, (length, latin_start, latin_end, payloads) in self._automaton.iter(view):
            start, end = end_idx - length + 1, end_idx + 1
            if latin_start and start > 0 and view[start - 1] in _LATIN:
                continue
            if latin_end and end < len(view) and view[end] in _LATIN:
                continue
            for kind, payload in payloads:
                if kind == "term":
                    hits.append((start, end, payload))
                elif kind == "allow":
                    allow.append((start, end))
                elif kind == "promo":
                    promo.append((start, end, payload))
                elif kind == "news":
                    news.append(start)
                elif kind == "lure_action":
                    actions.append((start, end))
                else:
                    targets.append((start, end))

        if allow:
            hits = [h for h in hits if not any(a <= h[0] and h[1] <= b for a, b in allow)]
        hits = _drop_nested(hits)
        entities = Entities()
        extra: list[Evidence] = []
        self._extract_links(norm, entities, extra)
        self._extract_words(norm, entities, extra, actions)

        context = self._has_context(hits, extra)
        evidence: list[Evidence] = []
        for start, end, term in hits:
            if term.needs_context and not context:
                continue
            weight = term.weight
            if news and any(abs(n - start) <= NEWS_WINDOW for n in news):
                weight *= NEWS_DAMPING
            evidence.append(self._evidence(norm, term.label, "term", term.rule_id, start, end, weight))
        evidence.extend(e for e in extra if context or e.kind not in {"handle", "invite_code"})
        if context:
            evidence.extend(self._lures(norm, actions, targets, news))

        evidence = _dedupe(evidence)
        scores = _noisy_or(evidence)
        evidence.extend(self._promo(norm, evidence, promo, news, scores))
        return RuleResult(scores={k: round(v, 4) for k, v in scores.items()}, evidence=evidence, entities=entities)

    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _evidence(norm: NormalizedText, label: str, kind: str, rule_id: str, start: int, end: int,
                  weight: float, *, link: bool = False) -> Evidence:
        rs, re_ = norm.raw_span(start, end, link=link)
        return Evidence(label, kind, rule_id, norm.raw[rs:re_], rs, re_, round(weight, 4))

    def _brand_of(self, domain: str) -> str | None:
        folded = normalize_term(domain)
        for name in self._brand_names:
            if name in folded:
                return name
        return None

    def _extract_links(self, norm: NormalizedText, entities: Entities, out: list[Evidence]) -> None:
        view = norm.link_text
        strong = self.lexicon.document["tiers"]["strong"]
        medium = self.lexicon.document["tiers"]["medium"]
        for m in _URL.finditer(view):
            domain = m.group(1).lower()
            url = m.group(0)
            if url not in entities.urls and (m.group(2) or "://" in url):
                entities.urls.append(url)
            if domain not in entities.domains:
                entities.domains.append(domain)
            brand = self._brand_of(domain)
            if brand:
                out.append(self._evidence(norm, "exchange_link", "domain", f"domain:{brand}", m.start(), m.end(),
                                          strong, link=True))
            elif domain in ("t.me", "telegram.me", "telegram.dog", "discord.gg", "wa.me"):
                out.append(self._evidence(norm, "exchange_link", "handle", f"link:{domain}", m.start(), m.end(),
                                          medium, link=True))
            for code in _URL_PARAM_CODE.finditer(url):
                if code.group(1) not in entities.invite_codes:
                    entities.invite_codes.append(code.group(1))
                s = m.start() + code.start(1)
                out.append(self._evidence(norm, "exchange_link", "invite_code", "invite:url_param", s,
                                          s + len(code.group(1)), medium, link=True))
        for kind, pattern in _WALLETS:
            for m in pattern.finditer(view):
                if kind == "btc" and not _looks_like_btc(m.group()):
                    continue
                entities.wallets.append({"kind": kind, "address": m.group()})
                label = "stablecoin_otc" if kind == "tron" else "crypto_marketing"
                out.append(self._evidence(norm, label, "wallet", f"wallet:{kind}", m.start(), m.end(),
                                          self.lexicon.document["tiers"]["weak"], link=True))

    def _extract_words(self, norm: NormalizedText, entities: Entities, out: list[Evidence],
                       actions: list[tuple[int, int]]) -> None:
        view = norm.text
        medium = self.lexicon.document["tiers"]["medium"]
        weak = self.lexicon.document["tiers"]["weak"]
        taken: list[tuple[int, int]] = []
        for kind, pattern in _HANDLES:
            for m in pattern.finditer(view):
                if any(a <= m.start(1) < b for a, b in taken):
                    continue
                taken.append((m.start(1), m.end(1)))
                rs, re_ = norm.raw_span(m.start(1), m.end(1))
                value = norm.raw[rs:re_]
                if kind == "at" and self._brand_of(value) is None and "." in view[m.end():m.end() + 1]:
                    continue
                if kind in ("telegram", "wechat") and not _handle_like(view[m.start():m.start(1)], m.group(1)):
                    continue
                entities.handles.append({"kind": kind, "value": value})
                if kind in ("wechat", "qq", "whatsapp"):
                    actions.append((m.start(), m.end()))
                    out.append(self._evidence(norm, "qr_lure", "handle", f"handle:{kind}", m.start(), m.end(), weak))
                elif kind in ("telegram", "discord"):
                    out.append(self._evidence(norm, "exchange_link", "handle", f"handle:{kind}", m.start(), m.end(),
                                              medium))
        for m in _INVITE.finditer(view):
            if m.group(1).isalpha() and m.group(0).startswith("code"):
                continue  # "code here" and the like: an invite code nearly always holds a digit
            rs, re_ = norm.raw_span(m.start(1), m.end(1))
            value = norm.raw[rs:re_]
            if value not in entities.invite_codes:
                entities.invite_codes.append(value)
            out.append(self._evidence(norm, "exchange_link", "invite_code", "invite:keyword", m.start(), m.end(),
                                      medium))

    def _has_context(self, hits: list[tuple[int, int, Term]], extra: list[Evidence]) -> bool:
        if any(e.kind in ("domain", "wallet") for e in extra):
            return True
        solid = [t for _, _, t in hits if not t.needs_context and t.label in _CONTEXT_LABELS]
        return (any(t.weight >= 0.5 or t.text in self._brand_terms for t in solid)
                or len({t.text for t in solid}) >= 2)

    def _lures(self, norm: NormalizedText, actions: list[tuple[int, int]], targets: list[tuple[int, int]],
               news: list[int]) -> list[Evidence]:
        found: list[Evidence] = []
        strong = self.lexicon.document["tiers"]["strong"]
        for a_start, a_end in actions:
            for t_start, t_end in targets:
                gap = t_start - a_end if t_start >= a_end else a_start - t_end
                if 0 <= gap <= LURE_WINDOW:
                    start, end = min(a_start, t_start), max(a_end, t_end)
                    weight = strong * (NEWS_DAMPING if any(abs(n - start) <= NEWS_WINDOW for n in news) else 1.0)
                    found.append(self._evidence(norm, "qr_lure", "qr_lure", "lure:action+target", start, end, weight))
                    break
        return found

    def _promo(self, norm: NormalizedText, evidence: list[Evidence], promo: list[tuple[int, int, str]],
               news: list[int], scores: dict[str, float]) -> list[Evidence]:
        if not promo:
            return []
        added: list[Evidence] = []
        # A cue inside reporting ("scammers promise 100x") is quoted, not offered.
        raw_promo = [(norm.raw_span(s, e), s, e, cue) for s, e, cue in promo
                     if not any(abs(n - s) <= NEWS_WINDOW for n in news)]
        for label in LABELS:
            if scores[label] <= 0:
                continue
            spans = [(e.start, e.end) for e in evidence if e.label == label]
            near = {}
            for (rs, re_), s, e, cue in raw_promo:
                if any(rs - PROMO_WINDOW <= b and a <= re_ + PROMO_WINDOW for a, b in spans):
                    near.setdefault(cue, (s, e))
            if not near:
                continue
            boost = PROMO_BOOST[min(len(near), len(PROMO_BOOST) - 1)]
            scores[label] = 1 - (1 - scores[label]) * (1 - boost)
            for cue, (s, e) in list(near.items())[:3]:
                added.append(self._evidence(norm, label, "promo_cue", f"promo:{cue}", s, e, boost))
        return added


def _handle_like(prefix: str, value: str) -> bool:
    """A marker followed by a plain word ("telegram groups") is prose, not a handle."""
    return "/" in prefix or any(c in prefix for c in ":：@=") or any(c.isdigit() or c == "_" for c in value)


def _lure_terms(lexicon: Lexicon, key: str) -> list[str]:
    lure = lexicon.document.get("lure") or {}
    return [n for n in (normalize_term(t) for t in lure.get(key, [])) if n]


def _drop_nested(hits: list[tuple[int, int, Term]]) -> list[tuple[int, int, Term]]:
    """Drop a hit lying inside a longer hit of the same label (收u already covers u)."""
    if len(hits) < 2:
        return hits
    spans: dict[str, list[tuple[int, int]]] = {}
    for start, end, term in hits:
        spans.setdefault(term.label, []).append((start, end))
    kept = []
    for h in hits:
        start, end = h[0], h[1]
        for a, b in spans[h[2].label]:
            if a <= start and end <= b and b - a > end - start:
                break
        else:
            kept.append(h)
    return kept


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    """Keep one item per (label, raw span): two rules firing on the same characters are one signal."""
    best: dict[tuple[str, int, int], Evidence] = {}
    for e in evidence:
        key = (e.label, e.start, e.end)
        if key not in best or e.weight > best[key].weight:
            best[key] = e
    return sorted(best.values(), key=lambda e: (e.start, e.end, e.label))


def _noisy_or(evidence: list[Evidence]) -> dict[str, float]:
    best: dict[tuple[str, str], float] = {}
    for e in evidence:
        key = (e.label, e.rule_id)
        best[key] = max(best.get(key, 0.0), e.weight)
    by_label: dict[str, list[float]] = {label: [] for label in LABELS}
    for (label, _), weight in best.items():
        by_label[label].append(weight)
    scores = {}
    for label, weights in by_label.items():
        # Weak signals add up only twice: a long article naming many coins is not a promotion.
        weights.sort(reverse=True)
        counted = [w for w in weights if w >= WEAK_CUTOFF] + [w for w in weights if w < WEAK_CUTOFF][:MAX_WEAK_SIGNALS]
        score = 0.0
        for weight in counted:
            score = 1 - (1 - score) * (1 - weight)
        scores[label] = score
    return scores


def _looks_like_btc(s: str) -> bool:
    # A legacy address mixes digits, upper and lower case; plain words or numbers do not.
    if s.startswith("bc1"):
        return True
    return any(c.isdigit() for c in s) and any(c.isupper() for c in s[1:]) and any(c.islower() for c in s)
