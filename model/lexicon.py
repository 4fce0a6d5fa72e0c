"""The keyword lexicon: block terms per label, allow-contexts, cues and exchange brands.

The lexicon is data (``lexicon.yaml``); this module loads and validates it, adds generated pinyin
spellings of Chinese brand names, and applies live edits (added or removed terms).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from pypinyin import Style, lazy_pinyin

from model.labels import LABELS, check_labels
from model.normalize import normalize_term

DEFAULT_LEXICON_PATH = Path(__file__).with_name("lexicon.yaml")
TIER_NAMES: tuple[str, ...] = ("strong", "medium", "weak")
CONTEXT_PREFIX = "ctx_"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    keys: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise ValueError(f"duplicate key {key!r} in lexicon at line {key_node.start_mark.line + 1}")
        keys.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True, slots=True)
class Term:
    """One block term as matched: its normalized form, label, weight and context requirement."""

    text: str
    label: str
    weight: float
    needs_context: bool
    source: str

    @property
    def rule_id(self) -> str:
        return f"term:{self.label}:{self.text}"


@dataclass(frozen=True, slots=True)
class Brand:
    name: str
    zh: tuple[str, ...]
    domains: tuple[str, ...]
    aliases: tuple[str, ...]

    @property
    def spellings(self) -> tuple[str, ...]:
        """Every way the brand is named in text: name, aliases, Chinese names and their pinyin."""
        return (self.name, *self.aliases, *self.zh, *(p for z in self.zh for p in pinyin_spellings(z)))


@dataclass
class Lexicon:
    """A validated lexicon document plus the flattened term list the rule engine compiles."""

    document: dict[str, Any]
    terms: list[Term] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    promo_cues: list[str] = field(default_factory=list)
    news_cues: list[str] = field(default_factory=list)
    brands: list[Brand] = field(default_factory=list)

    @property
    def version(self) -> str:
        return str(self.document.get("version", "unversioned"))

    @property
    def digest(self) -> str:
        """A short hash of the document, so a response can name the exact lexicon it used."""
        blob = json.dumps(self.document, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> "Lexicon":
        """Validate a lexicon document (the YAML's structure) and flatten it."""
        doc = copy.deepcopy(dict(document))
        tiers = doc.get("tiers")
        if not isinstance(tiers, dict) or set(tiers) != set(TIER_NAMES):
            raise ValueError(f"lexicon 'tiers' must map exactly {TIER_NAMES} to weights, got {tiers!r}")
        for name, weight in tiers.items():
            if not isinstance(weight, (int, float)) or not 0 < weight < 1:
                raise ValueError(f"lexicon tier {name!r} weight must be in (0, 1), got {weight!r}")
        labels = doc.get("labels")
        if not isinstance(labels, dict):
            raise ValueError("lexicon needs a 'labels' mapping")
        check_labels(list(labels))
        lex = cls(document=doc)
        seen: set[tuple[str, str]] = set()

        def add(label: str, tier_key: str, raw_terms: Iterable[Any], origin: str) -> None:
            tier = tier_key.removeprefix(CONTEXT_PREFIX)
            if tier not in TIER_NAMES:
                raise ValueError(f"unknown tier {tier_key!r} under label {label!r}")
            for raw in raw_terms:
                if not isinstance(raw, str) or not raw.strip():
                    raise ValueError(f"lexicon term under {label}.{tier_key} must be a non-empty string, got {raw!r}")
                norm = normalize_term(raw)
                if not norm or (label, norm) in seen:
                    continue
                seen.add((label, norm))
                lex.terms.append(Term(norm, label, float(tiers[tier]), tier_key.startswith(CONTEXT_PREFIX), origin))

        for label, by_tier in labels.items():
            if not isinstance(by_tier, dict):
                raise ValueError(f"lexicon label {label!r} must map tiers to term lists")
            for tier_key, raw_terms in by_tier.items():
                add(label, tier_key, _as_list(raw_terms, f"labels.{label}.{tier_key}"), "lexicon")

        for raw in doc.get("brands", []):
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
                raise ValueError(f"lexicon brand entries need a 'name', got {raw!r}")
            lex.brands.append(
                Brand(
                    name=normalize_term(raw["name"]),
                    zh=tuple(normalize_term(z) for z in raw.get("zh", [])),
                    domains=tuple(normalize_term(d) for d in raw.get("domains", [])),
                    aliases=tuple(normalize_term(a) for a in raw.get("aliases", [])),
                )
            )
        for brand in lex.brands:
            add("exchange_link", "strong", brand.domains, "brand")
            add("exchange_link", "weak", (brand.name, *brand.aliases, *brand.zh), "brand")
            for zh in brand.zh:
                add("exchange_link", "weak", pinyin_spellings(zh), "pinyin")
        for label, by_tier in (doc.get("pinyin_extra") or {}).items():
            check_labels([label])
            for tier_key, raw_terms in by_tier.items():
                add(label, tier_key, _as_list(raw_terms, f"pinyin_extra.{label}"), "pinyin")

        lex.allow = _normalized_list(doc.get("allow", []), "allow")
        lex.promo_cues = _normalized_list(doc.get("promo_cues", []), "promo_cues")
        lex.news_cues = _normalized_list(doc.get("news_cues", []), "news_cues")
        return lex

    @classmethod
    def load(cls, path: str | Path = DEFAULT_LEXICON_PATH) -> "Lexicon":
        """Load and validate a lexicon YAML file."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"lexicon file not found: {path}")
        try:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
        except yaml.YAMLError as exc:
            raise ValueError(f"lexicon file {path} is not valid YAML: {exc}") from exc
        if not isinstance(document, dict):
            raise ValueError(f"lexicon file {path} must hold a mapping at top level")
        return cls.from_document(document)

    def with_edits(self, edits: Mapping[str, Any]) -> "Lexicon":
        """Return a new lexicon with live edits applied.

        ``edits`` holds ``add`` / ``remove``: ``{label: {tier: [terms]}}`` and ``allow_add`` /
        ``allow_remove``: ``[terms]``. Removing a term removes it from every tier of that label.
        """
        doc = copy.deepcopy(self.document)
        for label, by_tier in (edits.get("add") or {}).items():
            check_labels([label])
            target = doc["labels"].setdefault(label, {})
            for tier_key, terms in by_tier.items():
                if tier_key.removeprefix(CONTEXT_PREFIX) not in TIER_NAMES:
                    raise ValueError(f"unknown tier {tier_key!r}; use one of {TIER_NAMES} (optionally ctx_)")
                bucket = target.setdefault(tier_key, [])
                bucket.extend(t for t in _as_list(terms, f"add.{label}.{tier_key}") if t not in bucket)
        for label, terms in (edits.get("remove") or {}).items():
            check_labels([label])
            gone = {normalize_term(t) for t in _as_list(terms, f"remove.{label}")}
            for tier_key, bucket in doc["labels"].get(label, {}).items():
                doc["labels"][label][tier_key] = [t for t in bucket if normalize_term(t) not in gone]
        allow = list(doc.get("allow", []))
        allow.extend(t for t in _as_list(edits.get("allow_add") or [], "allow_add") if t not in allow)
        gone_allow = {normalize_term(t) for t in _as_list(edits.get("allow_remove") or [], "allow_remove")}
        doc["allow"] = [t for t in allow if normalize_term(t) not in gone_allow]
        return Lexicon.from_document(doc)


def pinyin_spellings(word: str) -> list[str]:
    """Pinyin spellings spam uses for a Chinese word: joined (bian) and spaced (bi an)."""
    syllables = lazy_pinyin(word, style=Style.NORMAL, errors="ignore")
    if len(syllables) < 2:
        return []
    return ["".join(syllables), " ".join(syllables)]


def _as_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"lexicon {where} must be a list of non-empty strings, got {value!r}")
    return value


def _normalized_list(value: Any, where: str) -> list[str]:
    return [n for n in (normalize_term(v) for v in _as_list(value, where)) if n]


def default_lexicon() -> Lexicon:
    """The lexicon shipped with the package."""
    return Lexicon.load(DEFAULT_LEXICON_PATH)


__all__ = ["Brand", "Lexicon", "Term", "DEFAULT_LEXICON_PATH", "TIER_NAMES", "LABELS", "default_lexicon",
           "pinyin_spellings"]
