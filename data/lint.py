"""Soft checks on valid rows (warnings, not errors): things a reviewer of the seed set should see.

* ``lang`` that does not fit the text (an ``en`` row in Chinese, a ``mixed`` row in one script);
* a note that names an evasion trick the text does not show (zero-width, full-width, Cyrillic /
  Greek look-alikes, traditional characters, ``[.]`` / 点 links);
* two rows with the same normalized text, and above all with different labels;
* ``exchange_link`` without any link, domain, code, app or group cue, ``qr_lure`` without any scan /
  contact / DM cue (heuristic: worth a second look, not necessarily wrong);
* breaks of the contact rule (data card): a promotion with a Telegram / Discord / WhatsApp cue but
  no ``exchange_link``, and ``qr_lure`` whose only contact cue is one of those apps.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Sequence

import opencc

from data.schema import Row
from data.splits import dedup_key
from model.normalize import normalize

_T2S = opencc.OpenCC("t2s")
_CJK = re.compile("[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_ZW = re.compile("[\u200b-\u200f\u2060-\u206f\ufeff\u00ad]")
_FW = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_LOOKALIKE = re.compile("[\u0370-\u03ff\u0400-\u04ff]")
_EXCHANGE_CUE = re.compile(
    r"\.(com|co|io|me|vip|net|cc|xyz|top|app|pro|org|info|im|gg)\b|t\.me|t。me|\[\.\]|\(\.\)|点\s*(com|io|me|net)|dot|"
    r"邀请|推荐码|返佣|码|code|ref|invite|link|链接|连接|網址|网址|官网|下载|download|app|飞机|纸飞机|电报|tg\b|"
    r"telegram|tele|discord|whatsapp|wa\b|@|群|group|channel|频道|bio|主页|简介|注册|sign ?up|register|搜|search|\bid\b",
    re.IGNORECASE,
)
_LURE_CUE = re.compile(
    r"扫|码|二维|qr|scan|加|➕|\+v|v信|vx|薇|威|微|wechat|扣扣|qq|私|dm|pm|inbox|message|add me|联系|找我|戳|滴滴|"
    r"contact|telegram|飞机|tg|@|bio|主页|进群|group|link|链接|长按|识别|截图|(?<![a-z])v(?![a-z])",
    re.IGNORECASE,
)
_CHAT_APP_CUE = re.compile(r"纸?飞机|电报|telegram|(?<![a-z])tg(?![a-z])|t\.me/|discord|whatsapp|wa\.me/", re.IGNORECASE)
# Cues that make a post qr_lure under the contact rule: scanning, WeChat / QQ contacts, a DM on the
# post's own platform.
_LURE_ONLY_CUE = re.compile(
    r"扫|二维|qr|scan|长按|识别|加\s*v|➕|\+\s*v|v\s*信|vx|wx|薇|威信|微信|wechat|绿泡泡|扣扣|qq|私我|私信|私聊|私戳|"
    r"(?<![a-z])dm|(?<![a-z])pm(?![a-z])|inbox|add me|(?<![a-z])v(?![a-z])",
    re.IGNORECASE,
)
_NOTE_TRICKS: tuple[tuple[str, re.Pattern[str], object], ...] = (
    ("zero-width", re.compile(r"zero[- ]width|u\+200b", re.I), lambda t: bool(_ZW.search(t))),
    ("full-width", re.compile(r"full[- ]width", re.I), lambda t: bool(_FW.search(t))),
    ("Cyrillic/Greek look-alike", re.compile(r"cyrillic|greek|homoglyph", re.I), lambda t: bool(_LOOKALIKE.search(t))),
    ("traditional characters", re.compile(r"traditional", re.I), lambda t: _T2S.convert(t) != t),
)


def lint_rows(rows: Sequence[Row]) -> list[str]:
    """Warnings as ``"id: problem"`` lines, in row order."""
    out: list[str] = []
    for row in rows:
        cjk = len(_CJK.findall(row.text))
        latin = len(_LATIN_WORD.findall(row.text))
        if row.lang == "en" and cjk > 5:
            out.append(f"{row.id}: lang 'en' but the text has {cjk} Chinese characters")
        elif row.lang == "zh" and cjk == 0:
            out.append(f"{row.id}: lang 'zh' but the text has no Chinese characters")
        elif row.lang == "mixed" and (cjk == 0 or latin == 0):
            out.append(f"{row.id}: lang 'mixed' but the text is in one script only")
        for name, pattern, shows in _NOTE_TRICKS:
            if pattern.search(row.note) and "evasion" in row.note.lower() and not shows(row.text):  # type: ignore[operator]
                out.append(f"{row.id}: note names {name} evasion, but the text shows none")
        views = row.text + "\n" + normalize(row.text).text
        if "exchange_link" in row.labels and not _EXCHANGE_CUE.search(views):
            out.append(f"{row.id}: exchange_link without a visible link / code / app / group cue (check)")
        if "qr_lure" in row.labels and not _LURE_CUE.search(views):
            out.append(f"{row.id}: qr_lure without a visible scan / contact / DM cue (check)")
        if row.labels and _CHAT_APP_CUE.search(views):
            if "exchange_link" not in row.labels:
                out.append(f"{row.id}: Telegram / Discord / WhatsApp cue without exchange_link (contact rule; check)")
            if "qr_lure" in row.labels and not _LURE_ONLY_CUE.search(views):
                out.append(f"{row.id}: qr_lure whose only contact is Telegram / Discord / WhatsApp (contact rule; check)")
    by_key: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_key[dedup_key(row.text)].append(row)
    for same in by_key.values():
        if len(same) > 1:
            ids = ", ".join(r.id for r in same)
            if len({r.labels for r in same}) > 1:
                out.append(f"{same[0].id}: same normalized text as {ids} but different labels")
            else:
                out.append(f"{same[0].id}: same normalized text as {ids}")
    return out


__all__ = ["lint_rows"]
