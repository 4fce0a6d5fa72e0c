"""Tags derived from a row's group, note and text: must-allow class, evasion, long post.

Hand-written seed rows do not carry a ``neg_class``; :func:`neg_class_of` derives one for every
negative from its note and group with ordered keyword rules (first match wins), so splits can be
stratified on the policy's must-allow classes and evaluation can report them one by one.
"""

from __future__ import annotations

import re

from data.schema import NEG_CLASSES, Row

LONG_CHARS = 500

_R = re.compile
# Specific enough in a note to win over the group's theme.
_NOTE_STRONG: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("legal_abs", _R(r"\babs\b|legal[ -]door|csrc|资产支持证券|证监会备案")),
    ("ecny", _R(r"e-?cny|digital rmb|digital yuan|数字人民币|数币")),
)
# Group names are authoring batches with a theme; these tokens name a class outright.
_GROUP_STRONG: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("legal_abs", _R(r"abs|legal-door")),
    ("ecny", _R(r"ecny")),
    ("ordinary_qr", _R(r"(^|-)qr-|ordinary-qr")),
    ("tradfi", _R(r"(^|-)fin-|stock|bank-fund|gold-forex|investing")),
    ("word_collision", _R(r"(^|-)col(-|$)|collision|collide|real-mining|everyday-slang|u-shape|game-currency")),
    ("blockchain_tech", _R(r"consortium|academic|explainer|dev-notes|solidity|tooling-chains")),
    ("fraud_warning", _R(r"police|bank-notices|court|victim|fraud|warning|security")),
)
# Note keywords, for rows whose group is a mixed batch ("neg", "news", "analysis" ...).
_NOTE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("fraud_warning", _R(r"police|anti-?fraud|fraud|scam|warn|court|indict|prosecut|sentenc|victim|debunk|"
                         r"rumou?r|bank (sms|notice|account)|cautionary|beware|phishing|ponzi|laundering|"
                         r"drainer|judg|procurator|freez|moderation notice|illegal")),
    ("ordinary_qr", _R(r"scan to (join|follow|order|pay)|qr (ordering|payment|menu)|museum|扫码加入|"
                       r"official account|restaurant|parking|invoice")),
    ("tradfi", _R(r"stock|a-share|mutual fund|index fund|\bfunds?\b|bond|forex|\bgold\b|brokerage|"
                  r"wealth product|bank product|reit|承兑汇票|换汇|remittance")),
    ("everyday", _R(r"tail-free version|recipe|travel (notes|blog)|book review")),
    ("blockchain_tech", _R(r"consortium|enterprise blockchain|traceability|academic|explain(er|ation) of|"
                           r"how bitcoin|proof of work|\bpow\b|merkle|utxo|developer|\bapi\b|solidity|github")),
    ("word_collision", _R(r"collid|collision|minecraft|u盘|u盾|u型|u-shaped|usb|coal|real mining|"
                          r"data mining|ai token|llm|tokeni[sz]|game|relief|airdrop \(relief\)|paper plane|"
                          r"bitrate|supply chain|native dog|\bfood\b|\bexam\b|\bcat\b|hosting for websites|"
                          r"cloud computing ad|gpu|iron ore|rare-earth|compute infrastructure|idc")),
    ("news_analysis", _R(r"news|analys|research|opinion|report|commentary|editorial|explain|question|"
                         r"sceptic|critique|critical|joke|price|market|comment|reply|thread|tail-free")),
)
_GROUP_WEAK = _R(r"news|analysis|report|opinion|comment|sceptic|market|reg|neg|long")

_INVISIBLE = _R("[\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\u00ad]")
_FULLWIDTH = _R("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")  # full-width digits and letters only
_HOMOGLYPH = _R("[\u0370-\u03ff\u0400-\u04ff]")


def neg_class_of(row: Row) -> str:
    """The must-allow class of a negative row ('' for a positive): its own tag, or one derived."""
    if row.labels:
        return ""
    if row.neg_class:
        return row.neg_class
    note = row.note.lower()
    group = row.group.lower()
    for rules, subject in ((_NOTE_STRONG, note), (_GROUP_STRONG, group), (_NOTE_RULES, note)):
        for name, pattern in rules:
            if pattern.search(subject):
                return name
    if _GROUP_WEAK.search(group):
        return "news_analysis"
    return NEG_CLASSES[0]


def is_evasive(row: Row) -> bool:
    """Whether the row uses an evasion trick: said so in its note, or visible in its text."""
    note = row.note.lower()
    if "evasion" in note or "surface trick" in note or "aug:" in note:
        return True
    text = row.text
    return bool(_INVISIBLE.search(text) or _FULLWIDTH.search(text) or _HOMOGLYPH.search(text))


def is_long(row: Row) -> bool:
    """A long post (500+ characters), the unit of the issue's long-article quota."""
    return len(row.text) >= LONG_CHARS


__all__ = ["LONG_CHARS", "is_evasive", "is_long", "neg_class_of"]
