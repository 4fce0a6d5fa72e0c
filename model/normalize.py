"""Raw text -> normalized views, each with an offset map back into the raw text.

Two views are built from one raw post:

* the **word view** (``text``) undoes the evasions of the policy brief that a rule can undo:
  NFKC (full-width -> half-width), case folding, traditional -> simplified, zero-width and
  control characters, Cyrillic/Greek look-alikes, digits standing for letters inside Latin words,
  separators inserted between characters, and obfuscated dots and schemes in links;
* the **link view** (``link_text``) keeps case and word shapes (addresses and invite codes are
  case-sensitive) and only applies NFKC, invisible-character removal and link de-obfuscation.

``offsets[i]`` is the index in the raw text of the character that produced ``text[i]``, so any
span found in a view maps back to the raw text with :meth:`NormalizedText.raw_span`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import opencc

__all__ = ["NormalizedText", "normalize", "normalize_term"]

_T2S = opencc.OpenCC("t2s")

# Look-alike letters seen in spam, mapped to the Latin letter they imitate.
_HOMOGLYPHS: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "һ": "h", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ь": "b",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "μ": "u",
}
# Capitals whose lower-case form looks like another letter (Greek Η is H, but η looks like n),
# mapped before case folding.
_CAPITAL_HOMOGLYPHS: dict[str, str] = {
    "Η": "h", "Ν": "n", "Μ": "m", "Ζ": "z", "Υ": "y", "Χ": "x", "Ρ": "p", "Β": "b", "Κ": "k", "Τ": "t",
    "Α": "a", "Ε": "e", "Ι": "i", "Ο": "o",
    "Н": "h", "В": "b", "М": "m", "Т": "t", "К": "k", "Р": "p", "С": "c", "Х": "x", "А": "a", "Е": "e", "О": "o",
}
# Small capitals, and letters drawn as flags or in boxes, that NFKC leaves alone.
_SMALL_CAPITALS = "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘꞯʀꜱᴛᴜᴠᴡxʏᴢ"
_LETTER_BLOCKS = (0x1F1E6, 0x1F130, 0x1F150, 0x1F170)  # regional indicators, squared, circled, boxed A
for _i, _small in enumerate(_SMALL_CAPITALS):
    if _small != "x":
        _HOMOGLYPHS[_small] = chr(ord("a") + _i)
for _start in _LETTER_BLOCKS:
    for _i in range(26):
        _HOMOGLYPHS.setdefault(chr(_start + _i), chr(ord("a") + _i))
# Digits (and two symbols) that stand for letters inside Latin words: b1nance, 0kx, u$dt.
_LEET: dict[str, str] = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "$": "s", "@": "a"}

_INVISIBLE_RANGES = (
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0x180E, 0x180E), (0x00AD, 0x00AD), (0x034F, 0x034F), (0xE0000, 0xE007F),
)


def _is_invisible(ch: str) -> bool:
    cp = ord(ch)
    if any(lo <= cp <= hi for lo, hi in _INVISIBLE_RANGES):
        return True
    cat = unicodedata.category(ch)
    return cat in ("Cf", "Cs", "Co", "Cn") or (cat == "Cc" and ch not in "\t\n\r")


@lru_cache(maxsize=None)
def _link_char(ch: str) -> str:
    """Map one raw character for the link view: NFKC, invisible characters removed."""
    if _is_invisible(ch):
        return ""
    if ch in "\t\n\r":
        return " "
    return unicodedata.normalize("NFKC", ch)


@lru_cache(maxsize=None)
def _word_char(ch: str) -> str:
    """Map one raw character for the word view."""
    out = _link_char(ch)
    if not out:
        return out
    out = _CAPITAL_HOMOGLYPHS.get(out, out).casefold()
    if len(out) == 1 and ord(out) >= 0x3400:
        out = _T2S.convert(out)
    return "".join(_HOMOGLYPHS.get(c, c) for c in out)


# Separators that spam inserts between characters. Sentence punctuation (, ! ? ; : 。) is left
# alone: joining across it would invent words that the writer never wrote.
_SEP_CLASS = r"[\s.·•\-_*~|/\\+=^#'\"`<>()\[\]{}♥❤♡★☆✨❄️⭐🔥💰💎🚀👉👈✅❗️✔︎▪︎◆◇○●→←🌟💯🎁🤑]"
_EMOJI_RANGES = "\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF"
_SEP = rf"(?:{_SEP_CLASS}|[{_EMOJI_RANGES}])"
_CJK_CHAR = "[\u3400-\u9fff\uf900-\ufaff]"
_HAS_CJK = re.compile(_CJK_CHAR)
_HAS_LEET = re.compile(r"[0134578$@]")

# Chinese characters split by separators: 币 安, 欧.易, 币❤安.
_CJK_GAP = re.compile(rf"(?<={_CJK_CHAR}){_SEP}{{1,3}}(?={_CJK_CHAR})")
# Three or more single Latin letters/digits split by separators: O K X, b.i.n.a.n.c.e.
_SPACED_LATIN = re.compile(rf"(?<![a-z0-9])[a-z0-9](?:{_SEP}{{1,3}}[a-z0-9]){{2,}}(?![a-z0-9])")
# A Latin token holding at least one letter and one look-alike digit or symbol.
_LEET_TOKEN = re.compile(r"(?<![a-z0-9])(?=[a-z0-9$@]*[a-z])[a-z0-9]*[013457$@8][a-z0-9$@]*(?![a-z0-9])")
_SINGLE_LEET = re.compile(r"(?<![0-9])[0134578](?![0-9])|(?<=[a-z])[$@](?=[a-z])")
# A number with a unit, time or ordinal (8pm, 5am, 3rd, 4th, 5km, 8gb): read as written, not as leet.
_NUMBER_WITH_UNIT = re.compile(r"[0-9]+(?:st|nd|rd|th|am|pm|km|kg|cm|mm|ml|mg|gb|mb|tb|kb|hz|khz|mhz|ghz|"
                               r"min|hrs?|yrs?|mo|px|ms|kw|kwh|ft|lb|lbs|oz|pcs)")

_TLDS = (
    "com|net|org|io|me|cc|co|app|xyz|top|vip|pro|info|link|site|online|club|ai|so|tv|biz|us|uk|"
    "hk|sg|ws|gg|to|ly|li|fun|live|shop|store|cn|tk|ml|ga|cf|gq|in|jp|kr|tw|ph|vn|id|de|fr|ru|"
    "finance|exchange|trade|money|cash|global|world|one|plus|network|asia|bet|win|click|icu|cx|su"
)
# Obfuscated dots in links: okx[.]com, okx(dot)com, binance 点 com, t。me, okx dot com.
_OBF_DOT = re.compile(
    rf"(?<=[A-Za-z0-9])\s*(?:\[\s*(?:\.|dot|点)\s*\]|\(\s*(?:\.|dot|点)\s*\)|\{{\s*(?:\.|dot|点)\s*\}}"
    rf"|\s+(?:dot|DOT)\s+|\s*[点。．]\s*)(?=(?:{_TLDS})\b|me/|(?:[A-Za-z0-9-]+\.)+(?:{_TLDS})\b)",
    re.IGNORECASE,
)
_MAYBE_SCHEME = re.compile(r"xx|\*\*|XX|ttp")
_OBF_SCHEME = re.compile(r"\bh(?:xx|\*\*|tt)p(s?)\s*(?:\[:\]|:)\s*/\s*/", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A raw post with its word view and link view, each mapped back to raw offsets."""

    raw: str
    text: str
    offsets: Sequence[int]
    link_text: str
    link_offsets: Sequence[int]

    def raw_span(self, start: int, end: int, *, link: bool = False) -> tuple[int, int]:
        """Map the half-open span ``[start, end)`` of a view to a span of the raw text."""
        offsets = self.link_offsets if link else self.offsets
        if not 0 <= start < end <= len(offsets):
            raise ValueError(f"span ({start}, {end}) is outside a view of length {len(offsets)}")
        return offsets[start], offsets[end - 1] + 1


class _CharTable(dict):
    """``str.translate`` table that maps each character on first sight and remembers it.

    ``changes_length`` collects the characters whose mapping is not exactly one character: only
    texts holding one of them need the slower path that tracks offsets character by character.
    """

    def __init__(self, fn: Callable[[str], str]) -> None:
        super().__init__()
        self._fn = fn
        self.changes_length: set[str] = set()

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        out = self._fn(ch)
        if len(out) != 1:
            self.changes_length.add(ch)
        self[cp] = out
        return out


_LINK_TABLE = _CharTable(_link_char)
_WORD_TABLE = _CharTable(_word_char)


def _map_chars(raw: str, table: _CharTable) -> tuple[str, list[int] | range]:
    text = raw.translate(table)
    if table.changes_length.isdisjoint(raw):
        return text, range(len(raw))
    offsets: list[int] = []
    for i, c in enumerate(raw):
        offsets.extend([i] * len(table[ord(c)]))
    return text, offsets


def _rewrite(
    pattern: re.Pattern[str],
    text: str,
    offsets: list[int] | range,
    repl: Callable[[re.Match[str]], list[tuple[str, int]]],
) -> tuple[str, list[int] | range]:
    """Apply ``pattern`` to ``text``; ``repl`` returns (piece, view index) pairs for a match.

    Each piece inherits the raw offset of the view index it names, so offsets stay exact.
    """
    out: list[str] = []
    out_off: list[int] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(text[last : m.start()])
        out_off.extend(offsets[last : m.start()])
        for piece, idx in repl(m):
            out.append(piece)
            out_off.extend([offsets[idx]] * len(piece))
        last = m.end()
    if last == 0 and not out:
        return text, offsets
    out.append(text[last:])
    out_off.extend(offsets[last:])
    return "".join(out), out_off


def _drop(m: re.Match[str]) -> list[tuple[str, int]]:
    return []


def _keep_alnum(m: re.Match[str]) -> list[tuple[str, int]]:
    return [(c, m.start() + i) for i, c in enumerate(m.group()) if c.isalnum()]


def _dot(m: re.Match[str]) -> list[tuple[str, int]]:
    # The dot inherits the offset of the first non-space character of the obfuscation.
    body = m.group()
    first = next((i for i, c in enumerate(body) if not c.isspace()), 0)
    return [(".", m.start() + first)]


def _scheme(m: re.Match[str]) -> list[tuple[str, int]]:
    s = m.start()
    return [("http", s), (m.group(1).lower(), m.start(1)), ("://", m.end() - 1)] if m.group(1) else [
        ("http://", s)
    ]


def _leet(m: re.Match[str]) -> list[tuple[str, int]]:
    token = m.group()
    # Only single digits inside a token of two or more letters: trc20, s21 and 1000u stay.
    if sum(c.isalpha() for c in token) < 2 or _NUMBER_WITH_UNIT.fullmatch(token):
        fixed = token
    else:
        fixed = _SINGLE_LEET.sub(lambda d: _LEET[d.group()], token)
    return [(c, m.start() + i) for i, c in enumerate(fixed)]


def _deobfuscate_links(text: str, offsets: list[int] | range) -> tuple[str, list[int] | range]:
    if _MAYBE_SCHEME.search(text):
        text, offsets = _rewrite(_OBF_SCHEME, text, offsets, _scheme)
    return _rewrite(_OBF_DOT, text, offsets, _dot)


def normalize(raw: str) -> NormalizedText:
    """Build the word view and link view of ``raw``; raises TypeError for non-str input."""
    if not isinstance(raw, str):
        raise TypeError(f"normalize() expects str, got {type(raw).__name__}")
    link_text, link_off = _map_chars(raw, _LINK_TABLE)
    link_text, link_off = _deobfuscate_links(link_text, link_off)

    text, off = _map_chars(raw, _WORD_TABLE)
    text, off = _deobfuscate_links(text, off)
    if _HAS_CJK.search(text):
        text, off = _rewrite(_CJK_GAP, text, off, _drop)
    text, off = _rewrite(_SPACED_LATIN, text, off, _keep_alnum)
    if _HAS_LEET.search(text):
        text, off = _rewrite(_LEET_TOKEN, text, off, _leet)
    return NormalizedText(raw, text, off, link_text, link_off)


@lru_cache(maxsize=65536)
def normalize_term(term: str) -> str:
    """Normalize a lexicon term exactly as post text is normalized, so the two always meet."""
    return normalize(term).text.strip()
