"""Deterministic surface transforms: the evasion tricks of POLICY.md, applied to any text.

Every transform rewrites the *surface* of a post (homoglyphs, digits for letters, full-width,
traditional characters, separators / emoji / zero-width characters between characters,
obfuscated links, slang, code mixing, emoji decoration) and never its meaning, so a row keeps its
labels. They are applied to positives and negatives alike, so odd characters alone never predict
a label. Transforms aim at the crypto vocabulary of the lexicon when a post has some (that is what
spam disguises), and never rewrite a word inside an allow-context (合约机, U盘, 数字人民币 ...).

All randomness comes from the ``random.Random`` passed in; the same seed gives the same output.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Callable, Sequence

import ahocorasick
import opencc

from data.classes import neg_class_of
from data.schema import Row
from model.lexicon import Lexicon, default_lexicon, pinyin_spellings

if TYPE_CHECKING:
    from data.templates import Family

_S2T = opencc.OpenCC("s2t")

_CJK = re.compile("[\u3400-\u9fff]")
_CJK_RUN = re.compile("[\u3400-\u9fff]{2,4}")
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{3,}(?![A-Za-z0-9])")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_TLD = (r"com|net|org|io|me|cc|co|app|xyz|top|vip|pro|info|link|site|online|club|ai|so|tv|biz|us|hk|sg|"
        r"gg|to|ly|fun|live|shop|store|cn|im|cab|global|exchange|finance|world")
_LINK = re.compile(rf"(?:https?://)?(?:[A-Za-z0-9-]+\.)+(?:{_TLD})\b(?:/[^\s，。！？、)）]*)?", re.IGNORECASE)

HOMOGLYPHS: dict[str, tuple[str, ...]] = {
    "a": ("а", "α"), "e": ("е",), "o": ("о", "ο"), "p": ("р",), "c": ("с",), "x": ("х",), "y": ("у",),
    "i": ("і",), "s": ("ѕ",), "h": ("һ",), "k": ("к",), "j": ("ј",), "d": ("ԁ",), "n": ("η",), "v": ("ν",),
    "A": ("А", "Α"), "B": ("В", "Β"), "E": ("Е", "Ε"), "K": ("К",), "M": ("М",), "H": ("Н",), "O": ("О", "Ο"),
    "P": ("Р",), "C": ("С",), "T": ("Т",), "X": ("Х",), "I": ("І",),
}
LEET: dict[str, str] = {"o": "0", "O": "0", "i": "1", "I": "1", "l": "1", "e": "3", "E": "3", "a": "4",
                        "A": "4", "s": "5", "S": "5", "t": "7", "T": "7", "b": "8", "B": "8"}
SEPARATORS: tuple[str, ...] = (" ", ".", "·", "*", "-", "_", "|", "/", " . ", "~", "丶", "🔥", "❤", "✨", "💰",
                               "⭐", "💎", "🚀", "♥", "•")
ZERO_WIDTH: tuple[str, ...] = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
EMOJI: tuple[str, ...] = ("🔥", "🚀", "💰", "✅", "👉", "👇", "📢", "💎", "🌟", "⚡", "🎁", "😂", "🙏", "👍", "📌",
                          "❗", "🤝", "🌈", "☀️", "😊")
DOT_STYLES: tuple[str, ...] = ("[.]", "(.)", " 点 ", "点", " dot ", "(dot)", "。", "．", "[dot]", "{.}")
SCHEME_STYLES: tuple[str, ...] = ("hxxps://", "hxxp://", "hxxps[:]//", "h**ps://", "https ://")

# Formal crypto words -> the slang, pinyin and contact spellings spam uses (meaning unchanged).
SLANG: dict[str, tuple[str, ...]] = {
    "比特币": ("大饼", "BTC", "饼", "比特"),
    "以太坊": ("姨太", "ETH", "以太", "二饼"),
    "泰达币": ("U", "泰达", "USDT"),
    "USDT": ("U", "u", "泰达币", "U$DT", "优兔"),
    "微信": ("V信", "vx", "薇信", "威信", "wx", "VX", "薇❤"),
    "加微信": ("加V", "➕V", "+V", "加薇", "➕薇", "加vx"),
    "电报": ("飞机", "纸飞机", "TG", "小飞机"),
    "Telegram": ("飞机", "TG", "tele", "电报", "telegrm"),
    "交易所": ("所", "交易 所", "jys"),
    "人民币": ("RMB", "软妹币", "rmb"),
    "二维码": ("码", "QR", "二维马"),
    "私聊": ("私", "滴滴", "私戳", "dd"),
    "邀请码": ("邀請碼", "yqm", "码子", "邀请马"),
    "空投": ("空头", "airdrop", "kt"),
    "合约": ("heyue", "合yue"),
    "Bitcoin": ("BTC", "btc", "₿"),
    "bitcoin": ("btc", "BTC"),
    "Ethereum": ("ETH", "eth"),
    "WhatsApp": ("WA", "whatsapp", "wapp"),
    "message me": ("dm me", "hmu", "inbox me"),
    "DM me": ("dm", "hmu", "inbox me", "D.M me"),
    "referral": ("ref", "reff"),
}
# Code mixing: Chinese words -> English, and English words -> Chinese (the lang becomes 'mixed').
ZH_TO_EN: dict[str, tuple[str, ...]] = {
    "交易所": ("exchange",), "杠杆": ("leverage",), "空投": ("airdrop",), "邀请码": ("invite code", "ref code"),
    "注册": ("register", "sign up"), "下载": ("download",), "链接": ("link",), "二维码": ("QR code", "QR"),
    "收益": ("profit", "yield"), "矿机": ("miner", "mining rig"), "算力": ("hashrate",), "托管": ("hosting",),
    "稳定币": ("stablecoin",), "比特币": ("Bitcoin", "BTC"), "以太坊": ("ETH",), "钱包": ("wallet",),
    "新闻": ("news",), "警方": ("police",), "诈骗": ("scam",), "银行": ("bank",), "价格": ("price",),
    "手续费": ("fee",), "新手": ("newbie", "beginner"), "项目": ("project",), "白名单": ("whitelist",),
    "年化": ("APY",), "兄弟们": ("bros", "guys"), "朋友们": ("guys", "friends"), "今天": ("today",),
    "明天": ("tomorrow",), "免费": ("free",), "活动": ("event", "campaign"), "市场": ("market",),
    "分析": ("analysis",), "风险": ("risk",), "投资": ("invest",), "区块链": ("blockchain",),
    "支付": ("pay",), "手机": ("phone",), "进群": ("join group", "进group"), "信号": ("signal",),
    "社群": ("community",), "客服": ("support", "CS"), "老师": ("mentor",), "机会": ("chance",),
    "教程": ("tutorial", "guide"), "数据": ("data",), "公告": ("notice", "announcement"),
}
EN_TO_ZH: dict[str, tuple[str, ...]] = {
    "exchange": ("交易所",), "register": ("注册",), "sign up": ("注册",), "invite code": ("邀请码",),
    "referral code": ("推荐码",), "group": ("群",), "link": ("链接",), "airdrop": ("空投",),
    "profit": ("收益",), "profits": ("收益",), "mining": ("挖矿",), "hashrate": ("算力",),
    "contract": ("合约", "合同"), "stablecoin": ("稳定币",), "price": ("价格",), "scan": ("扫码", "扫"),
    "news": ("新闻",), "police": ("警方",), "scam": ("骗局",), "bank": ("银行",), "wallet": ("钱包",),
    "today": ("今天",), "free": ("免费",), "guys": ("兄弟们", "家人们"), "market": ("市场",), "risk": ("风险",),
    "project": ("项目",), "whitelist": ("白名单",), "yield": ("收益",), "fees": ("手续费",),
    "beginners": ("新手",), "blockchain": ("区块链",), "payment": ("支付",), "phone": ("手机",),
    "signals": ("信号",), "tutorial": ("教程",), "data": ("数据",), "friends": ("朋友们",),
}


@dataclass(frozen=True, slots=True)
class Result:
    """A transformed text, its language (code mixing makes it 'mixed') and the transforms applied."""

    text: str
    lang: str
    names: tuple[str, ...]


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def _spans_overlap(a: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


class Augmenter:
    """The surface transforms, aimed with the lexicon's vocabulary and protected by its allow-list."""

    NAMES: tuple[str, ...] = (
        "homoglyph", "leet", "fullwidth", "traditional", "separators", "zero_width",
        "link_obfuscation", "slang", "code_mix", "emoji",
    )

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or default_lexicon()
        self._allow_cache: dict[str, list[tuple[int, int]]] = {}

    @cached_property
    def _vocab(self) -> ahocorasick.Automaton:
        doc = self.lexicon.document
        words: set[str] = set()
        for by_tier in doc.get("labels", {}).values():
            for terms in by_tier.values():
                words.update(terms)
        for brand in doc.get("brands", []):
            words.update([brand["name"], *brand.get("zh", []), *brand.get("aliases", []), *brand.get("domains", [])])
        return self._automaton(w for w in words if len(w) >= 2 and w.strip() == w)

    @cached_property
    def _allow(self) -> ahocorasick.Automaton:
        return self._automaton(self.lexicon.document.get("allow", []))

    @cached_property
    def slang(self) -> dict[str, tuple[str, ...]]:
        """The slang table plus pinyin spellings of the lexicon's Chinese brand names (币安 -> bi an)."""
        table = dict(SLANG)
        for brand in self.lexicon.document.get("brands", []):
            for zh in brand.get("zh", []):
                spellings = [p for p in pinyin_spellings(zh)]
                initials = "".join(p[0] for p in spellings[-1].split()) if spellings else ""
                alts = tuple(dict.fromkeys([*spellings, initials.upper(), brand["name"].upper()]))
                table[zh] = tuple(a for a in alts if a)
        return table

    @staticmethod
    def _automaton(words: Sequence[str] | set[str] | object) -> ahocorasick.Automaton:
        auto = ahocorasick.Automaton()
        for word in sorted(set(w.lower() for w in words)):  # type: ignore[union-attr]
            auto.add_word(word, len(word))
        auto.make_automaton()
        return auto

    @staticmethod
    def _find(auto: ahocorasick.Automaton, text: str) -> list[tuple[int, int]]:
        low = text.lower()
        if len(low) != len(text):
            return []
        spans: list[tuple[int, int]] = []
        for end, length in auto.iter(low):
            start = end + 1 - length
            spans.append((start, end + 1))
        # Keep the longest non-overlapping matches, left to right; Latin matches must be whole words.
        spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        out: list[tuple[int, int]] = []
        for s, e in spans:
            if out and s < out[-1][1]:
                continue
            word = low[s:e]
            if word[0].isascii() and word[0].isalnum() and s > 0 and low[s - 1].isascii() and low[s - 1].isalnum():
                continue
            if word[-1].isascii() and word[-1].isalnum() and e < len(low) and low[e].isascii() and low[e].isalnum():
                continue
            out.append((s, e))
        return out

    def targets(self, text: str) -> list[tuple[int, int]]:
        """Spans of crypto vocabulary outside allow-contexts (what spam disguises)."""
        allow = self.allow_spans(text)
        return [s for s in self._find(self._vocab, text) if not _spans_overlap(s, allow)]

    def allow_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of allow-contexts (合约机, U盘 ...), which transforms leave alone."""
        cached = self._allow_cache.get(text)
        if cached is None:
            if len(self._allow_cache) > 4096:
                self._allow_cache.clear()
            cached = self._allow_cache[text] = self._find(self._allow, text)
        return list(cached)

    # ----------------------------------------------------------------- helpers

    def _pick_spans(self, text: str, rng: random.Random, pattern: re.Pattern[str] | None, k: int) -> list[tuple[int, int]]:
        """Up to ``k`` target spans: vocabulary first, else matches of ``pattern``."""
        spans = self.targets(text)
        if pattern is not None:
            spans = [s for s in spans if pattern.fullmatch(text[s[0]:s[1]]) or pattern.search(text[s[0]:s[1]])]
        if not spans and pattern is not None:
            allow = self.allow_spans(text)
            spans = [m.span() for m in pattern.finditer(text) if not _spans_overlap(m.span(), allow)]
        if not spans:
            return []
        return sorted(rng.sample(spans, min(k, len(spans))))

    @staticmethod
    def _one_word(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        """Each span cut down to its longest run without spaces (multi-word terms -> one word)."""
        out = []
        for s, e in spans:
            runs = [(s + m.start(), s + m.end()) for m in re.finditer(r"\S+", text[s:e])]
            if runs:
                best = max(runs, key=lambda r: r[1] - r[0])
                if best[1] - best[0] >= 2:
                    out.append(best)
        return out

    @staticmethod
    def _rewrite_spans(text: str, spans: Sequence[tuple[int, int]], fn: Callable[[str], str]) -> str:
        out, last = [], 0
        for s, e in spans:
            out.append(text[last:s])
            out.append(fn(text[s:e]))
            last = e
        out.append(text[last:])
        return "".join(out)

    # -------------------------------------------------------------- transforms

    def homoglyph(self, text: str, lang: str, rng: random.Random) -> str | None:
        spans = self._pick_spans(text, rng, _LATIN_WORD, rng.randint(1, 2))

        def swap(word: str) -> str:
            idx = [i for i, c in enumerate(word) if c in HOMOGLYPHS]
            chars = list(word)
            for i in rng.sample(idx, min(len(idx), rng.randint(1, 2))):
                chars[i] = rng.choice(HOMOGLYPHS[chars[i]])
            return "".join(chars)

        return self._rewrite_spans(text, spans, swap) if spans else None

    def leet(self, text: str, lang: str, rng: random.Random) -> str | None:
        spans = self._pick_spans(text, rng, _LATIN_WORD, rng.randint(1, 2))

        def swap(word: str) -> str:
            idx = [i for i, c in enumerate(word) if c in LEET]
            chars = list(word)
            for i in rng.sample(idx, min(len(idx), 1 if len(word) < 5 else rng.randint(1, 2))):
                chars[i] = LEET[chars[i]]
            return "".join(chars)

        return self._rewrite_spans(text, spans, swap) if spans else None

    def fullwidth(self, text: str, lang: str, rng: random.Random) -> str | None:
        if not _ASCII_ALNUM.search(text):
            return None
        if rng.random() < 0.4:
            return _fullwidth(text)
        spans = self._pick_spans(text, rng, re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-/]*"), rng.randint(1, 3))
        return self._rewrite_spans(text, spans, _fullwidth) if spans else _fullwidth(text)

    def traditional(self, text: str, lang: str, rng: random.Random) -> str | None:
        if not _CJK.search(text):
            return None
        if rng.random() < 0.6:
            return _S2T.convert(text)
        spans = self._pick_spans(text, rng, _CJK_RUN, rng.randint(1, 3))
        return self._rewrite_spans(text, spans, _S2T.convert) if spans else _S2T.convert(text)

    def separators(self, text: str, lang: str, rng: random.Random) -> str | None:
        sep = rng.choice(SEPARATORS)
        if rng.random() < 0.2:
            # A whole short clause spaced out: 托 管 位 还 剩 300 个.
            clauses = [m.span() for m in re.finditer(r"[^，。！？!?,;；\n]{4,30}", text) if _CJK.search(m.group())]
            if clauses:
                s, e = rng.choice(clauses)
                return text[:s] + sep.join(text[s:e].replace(" ", "")) + text[e:]
        spans = self._pick_spans(text, rng, re.compile(r"[\u3400-\u9fff]{2,4}|[A-Za-z]{3,8}"), rng.randint(1, 3))
        spans = self._one_word(text, spans)
        return self._rewrite_spans(text, spans, lambda w: sep.join(w)) if spans else None

    def zero_width(self, text: str, lang: str, rng: random.Random) -> str | None:
        zw = rng.choice(ZERO_WIDTH)
        spans = self._pick_spans(text, rng, re.compile(r"[\u3400-\u9fff]{2,4}|[A-Za-z]{3,8}"), rng.randint(1, 3))
        spans = self._one_word(text, spans)
        if spans and rng.random() < 0.75:
            return self._rewrite_spans(text, spans, lambda w: zw.join(w))
        chars = list(text)
        for _ in range(rng.randint(2, 6)):
            chars.insert(rng.randint(1, max(1, len(chars) - 1)), zw)
        return "".join(chars)

    def link_obfuscation(self, text: str, lang: str, rng: random.Random) -> str | None:
        links = list(_LINK.finditer(text))
        if not links:
            return None
        dot = rng.choice(DOT_STYLES)

        def obfuscate(link: str) -> str:
            m = re.match(r"(https?://)?([^/]+)(.*)", link, re.IGNORECASE | re.DOTALL)
            assert m is not None
            scheme, host, rest = m.group(1) or "", m.group(2), m.group(3)
            if scheme and rng.random() < 0.7:
                scheme = rng.choice(SCHEME_STYLES) if scheme.lower().startswith("https") else "hxxp://"
            head, _, tld = host.rpartition(".")
            host = f"{head}{dot}{tld}" if rng.random() < 0.7 else host.replace(".", dot)
            return scheme + host + rest

        return self._rewrite_spans(text, [m.span() for m in links], obfuscate)

    def slang_sub(self, text: str, lang: str, rng: random.Random) -> str | None:
        return _substitute_with(self, text, self.slang, rng)

    def code_mix(self, text: str, lang: str, rng: random.Random) -> str | None:
        table = ZH_TO_EN if _CJK.search(text) and lang != "en" else EN_TO_ZH
        return _substitute_with(self, text, table, rng)

    def emoji(self, text: str, lang: str, rng: random.Random) -> str | None:
        spots = [0, len(text)] + [m.end() for m in re.finditer(r"[，。！？!?,;；\n]", text)]
        chars = text
        for pos in sorted(rng.sample(spots, min(len(spots), rng.randint(1, 3))), reverse=True):
            chars = chars[:pos] + "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 2))) + chars[pos:]
        return chars

    # ------------------------------------------------------------------ driver

    def transforms(self) -> dict[str, Callable[[str, str, random.Random], str | None]]:
        return {
            "homoglyph": self.homoglyph,
            "leet": self.leet,
            "fullwidth": self.fullwidth,
            "traditional": self.traditional,
            "separators": self.separators,
            "zero_width": self.zero_width,
            "link_obfuscation": self.link_obfuscation,
            "slang": self.slang_sub,
            "code_mix": self.code_mix,
            "emoji": self.emoji,
        }

    def apply(self, text: str, lang: str, rng: random.Random, k: int | None = None,
              names: Sequence[str] | None = None) -> Result | None:
        """Apply ``k`` (1-3 by default) distinct transforms in random order; None when none changed it."""
        table = self.transforms()
        pool = list(names or self.NAMES)
        rng.shuffle(pool)
        want = k if k is not None else rng.choices((1, 2, 3), weights=(0.5, 0.35, 0.15))[0]
        done: list[str] = []
        out, out_lang = text, lang
        for name in pool:
            if len(done) >= want:
                break
            new = table[name](out, out_lang, rng)
            if new is None or new == out or not new.strip():
                continue
            out = new
            done.append(name)
            if name == "code_mix":
                out_lang = "mixed"
        return Result(out, out_lang, tuple(done)) if done else None


@lru_cache(maxsize=16)
def _table_pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation over a substitution table, longest key first; Latin keys match whole words."""
    alts = []
    for key in sorted(keys, key=lambda k: (-len(k), k)):
        if key.isascii():
            alts.append(rf"(?<![A-Za-z]){re.escape(key)}(?![A-Za-z])")
        else:
            alts.append(re.escape(key))
    return re.compile("|".join(alts), re.IGNORECASE)


def _substitute_with(aug: Augmenter, text: str, table: dict[str, tuple[str, ...]], rng: random.Random) -> str | None:
    """Replace 1-3 occurrences of table keys outside allow-contexts and links by a random alternative."""
    protected = aug.allow_spans(text) + [m.span() for m in _LINK.finditer(text)]
    lookup = {k.lower(): k for k in table}
    hits = [(m.start(), m.end(), lookup[m.group().lower()])
            for m in _table_pattern(tuple(table)).finditer(text) if not _spans_overlap(m.span(), protected)]
    if not hits:
        return None
    chosen = sorted(rng.sample(hits, min(len(hits), rng.randint(1, 3))))
    out, last = [], 0
    for s, e, key in chosen:
        out.append(text[last:s])
        alt = rng.choice(table[key])
        prev = text[s - 1] if s > 0 else ""
        # Keep English words apart from neighbouring Latin text or digits.
        if alt[:1].isascii() and alt[:1].isalnum() and prev.isascii() and prev.isalnum():
            alt = " " + alt
        nxt = text[e] if e < len(text) else ""
        if alt[-1:].isascii() and alt[-1:].isalnum() and nxt.isascii() and nxt.isalnum():
            alt = alt + " "
        out.append(alt)
        last = e
    out.append(text[last:])
    return "".join(out)


# ----------------------------------------------------------------------------- row generation

GENERATOR_VERSION = "1"
LONG_AUG = 500  # posts at least this long get fewer variants (they are already rich)


def _rng(seed: int, *parts: object) -> random.Random:
    """A per-item generator: the output for one seed row never depends on the other rows."""
    digest = hashlib.blake2b(":".join(map(str, (seed, *parts))).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def augment_rows(rows: Sequence[Row], seed: int, per_row: int = 10, per_long: int = 3,
                 augmenter: Augmenter | None = None) -> list[Row]:
    """Surface variants of each row (labels unchanged), ``group = aug:<seed group>``."""
    aug = augmenter or Augmenter()
    out: list[Row] = []
    for row in rows:
        seen = {row.text}
        n = per_long if len(row.text) >= LONG_AUG else per_row
        for j in range(n):
            res = aug.apply(row.text, row.lang, _rng(seed, "aug", row.id, j))
            if res is None or res.text in seen:
                continue
            seen.add(res.text)
            out.append(Row(
                id=f"{row.id}~a{j:02d}", text=res.text, labels=row.labels, lang=res.lang,
                group=f"aug:{row.group}", source="generated", note=f"aug: {'+'.join(res.names)}",
                neg_class=neg_class_of(row), parent=row.id,
            ))
    return out


def _compose(text: str, tail: str, rng: random.Random) -> tuple[str, str]:
    """Append ``tail`` to ``text``, or bury it at a sentence boundary in the middle of a long post."""
    if len(text) >= 200 and rng.random() < 0.35:
        cuts = [m.end() for m in re.finditer(r"[。！？!?]|\.\s", text) if 0.3 * len(text) <= m.end() <= 0.7 * len(text)]
        if cuts:
            pos = rng.choice(cuts)
            return text[:pos] + tail.strip() + ("" if _CJK.search(tail[-1:]) or tail[-1:] in "。！" else " ") + text[pos:], "buried"
    if tail[:1].isspace():
        joiner = ""
    elif _CJK.search(tail):
        joiner = rng.choice(("\n\n", "\n", "", " "))
    else:
        joiner = rng.choice(("\n\n", "\n", " "))
    return text.rstrip() + joiner + tail, "appended"


def tail_rows(rows: Sequence[Row], seed: int, rate: float = 0.7, min_chars: int = 30,
              augmenter: Augmenter | None = None) -> list[Row]:
    """Harmless posts with a promotional tail appended or buried: the tail's labels become the row's.

    Each negative of ``min_chars``+ gets one such variant with probability ``rate``, and a post of
    200+ characters a second one with probability ``rate / 2``.
    """
    from data.templates import TAILS

    aug = augmenter or Augmenter()
    zh_tails = [t for t in TAILS if t.lang != "en"]
    en_tails = [t for t in TAILS if t.lang == "en"]
    out: list[Row] = []
    for row in rows:
        if row.labels or len(row.text) < min_chars:
            continue
        for j in range(2 if len(row.text) >= 200 else 1):
            rng = _rng(seed, "tail", row.id, j)
            if rng.random() >= (rate if j == 0 else rate / 2):
                continue
            pool = en_tails if row.lang == "en" or rng.random() < 0.15 else zh_tails
            family = rng.choice(pool)
            tail, labels = family.render(rng)
            text, how = _compose(row.text, tail, rng)
            lang = row.lang if (family.lang == "en") == (row.lang == "en") else "mixed"
            note = f"compose: {family.name} tail {how}"
            if rng.random() < 0.3:
                res = aug.apply(text, lang, rng)
                if res is not None:
                    text, lang, note = res.text, res.lang, f"{note}; aug: {'+'.join(res.names)}"
            out.append(Row(
                id=f"{row.id}~t{j}", text=text, labels=labels, lang=lang, group=f"aug:{row.group}",
                source="generated", note=note, parent=row.id,
            ))
    return out


def _capacity(family: "Family") -> int:
    n = 1
    for part in family.parts:
        n *= len(part)
    return n


def template_quotas(n: int, neg_share: float = 0.45) -> dict[str, int]:
    """Rows per template family: by weight within positives and negatives, at most 2x its frames."""
    from data.templates import NEGATIVE, POSITIVE

    quotas: dict[str, int] = {}
    for families, budget in ((POSITIVE, round(n * (1 - neg_share))), (NEGATIVE, round(n * neg_share))):
        open_ = list(families)
        left = budget
        while open_ and left > 0:
            total_w = sum(f.weight for f in open_)
            capped = []
            for f in open_:
                share = int(left * f.weight / total_w)
                room = 2 * _capacity(f) - quotas.get(f.name, 0)
                take = min(share, room)
                quotas[f.name] = quotas.get(f.name, 0) + take
                if take >= room:
                    capped.append(f)
            left = budget - sum(quotas[f.name] for f in families)
            if not capped:
                # Rounding leftovers: one more row each, in family order.
                for f in open_[:left]:
                    quotas[f.name] += 1
                break
            open_ = [f for f in open_ if f not in capped]
    return quotas


def template_rows(n: int, seed: int, transform_p: float = 0.35, augmenter: Augmenter | None = None) -> list[Row]:
    """``n`` slot-filled rows (fewer only if the families run out of distinct texts); a share of them
    also get surface transforms. Families are over-provisioned by 15%, then trimmed pro rata."""
    from data.templates import FAMILIES

    aug = augmenter or Augmenter()
    quotas = template_quotas(math.ceil(n * 1.15))
    per_family: list[list[Row]] = []
    for family in FAMILIES:
        want = quotas.get(family.name, 0)
        seen: set[str] = set()
        rows: list[Row] = []
        attempt = 0
        while len(rows) < want and attempt < want * 8:
            rng = _rng(seed, "tpl", family.name, attempt)
            attempt += 1
            text, labels = family.render(rng)
            if text in seen:
                continue
            seen.add(text)
            lang, note = family.lang, f"template {family.name}"
            if rng.random() < transform_p:
                res = aug.apply(text, lang, rng)
                if res is not None:
                    text, lang, note = res.text, res.lang, f"{note}; aug: {'+'.join(res.names)}"
            rows.append(Row(
                id=f"T-{family.name}-{len(rows) + 1:05d}", text=text, labels=labels, lang=lang,
                group=f"tpl:{family.name}", source="generated", note=note, neg_class=family.neg_class,
            ))
        per_family.append(rows)
    total = sum(map(len, per_family))
    if total <= n:
        return [r for rows in per_family for r in rows]
    keep = [len(rows) * n // total for rows in per_family]
    for i in sorted(range(len(per_family)), key=lambda i: -len(per_family[i]))[: n - sum(keep)]:
        keep[i] += 1
    return [r for rows, k in zip(per_family, keep) for r in rows[:k]]


def generate(train_rows: Sequence[Row], seed: int, target_train: int = 32000, per_row: int = 10,
             per_long: int = 3) -> list[Row]:
    """Every generated training row: variants and promo-tail compositions of the train seeds, then
    template rows to bring train (seeds included) to about ``target_train`` rows."""
    aug = Augmenter()
    variants = augment_rows(train_rows, seed, per_row, per_long, aug)
    tails = tail_rows(train_rows, seed, augmenter=aug)
    room = max(0, target_train - len(train_rows) - len(variants) - len(tails))
    return variants + tails + template_rows(room, seed, augmenter=aug)


__all__ = ["Augmenter", "GENERATOR_VERSION", "Result", "SLANG", "ZH_TO_EN", "EN_TO_ZH", "augment_rows", "generate",
           "tail_rows", "template_quotas", "template_rows"]
