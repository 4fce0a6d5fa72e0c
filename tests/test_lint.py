"""Soft checks of the seed rows (data/lint.py): each case says which warning it must (or must not) raise."""

from __future__ import annotations

import pytest

from data.lint import lint_rows
from data.schema import Row


def _row(text: str, labels: tuple[str, ...], lang: str = "zh", note: str = "", rid: str = "T-0001") -> Row:
    return Row(id=rid, text=text, labels=labels, lang=lang, group="T-g", source="handwritten", note=note)


# (text, labels, lang, note, expected warning fragment or None, why)
CASES = [
    ("联系飞机 @szU_laozhang，今日 7.22 收 7.28 出", ("stablecoin_otc", "exchange_link"), "zh", "",
     None, "a Telegram contact labelled exchange_link follows the contact rule"),
    ("联系飞机 @szU_laozhang，今日 7.22 收 7.28 出", ("stablecoin_otc",), "zh", "",
     "without exchange_link", "a Telegram contact must carry exchange_link"),
    ("出U 7.24，加飞机 @u_888 详聊", ("stablecoin_otc", "exchange_link", "qr_lure"), "zh", "",
     "only contact is Telegram", "qr_lure with only a Telegram contact breaks the rule"),
    ("出U 7.24，加V u888 或飞机 @u_888", ("stablecoin_otc", "exchange_link", "qr_lure"), "zh", "",
     None, "a WeChat handle next to the Telegram one justifies qr_lure"),
    ("Follow + DM 'SIGNALS' for my private Telegram", ("crypto_marketing", "exchange_link", "qr_lure"), "en", "",
     None, "a DM on the post's own platform justifies qr_lure"),
    ("警方提醒：陌生人发来的飞机群链接不要点", (), "zh", "",
     None, "the contact rule applies to promotions only, never to allowed posts"),
    ("今日汇率 7.22 收 7.28 出，量大从优", ("stablecoin_otc", "qr_lure"), "zh", "",
     "qr_lure without a visible", "qr_lure needs some scan, contact or DM cue"),
    ("币安是全球最大的交易所之一，快上车", ("crypto_marketing", "exchange_link"), "zh", "",
     "exchange_link without a visible", "naming an exchange is not a link"),
    ("Buy BTC now before it moons", ("crypto_marketing",), "zh", "",
     "lang 'zh' but the text has no Chinese", "the lang tag must fit the script"),
    ("币安注册送U", ("crypto_marketing",), "en", "",
     None, "up to five Chinese characters are tolerated in an English row"),
    ("注册 binance 送 100U，快上车", ("crypto_marketing",), "zh", "evasion: zero-width spaces",
     "names zero-width evasion", "a note must not claim a trick the text lacks"),
]


@pytest.mark.parametrize("text,labels,lang,note,expected,why", CASES, ids=[c[-1] for c in CASES])
def test_lint_case(text: str, labels: tuple[str, ...], lang: str, note: str, expected: str | None, why: str) -> None:
    warnings = lint_rows([_row(text, labels, lang, note)])
    if expected is None:
        assert warnings == [], why
    else:
        assert any(expected in w for w in warnings), f"{why}: got {warnings}"


def test_lint_reports_duplicates_with_different_labels() -> None:
    rows = [_row("收U 7.22", ("stablecoin_otc",), rid="T-0001"), _row("收 U 7.22", (), rid="T-0002")]
    warnings = lint_rows(rows)
    assert any("different labels" in w and "T-0002" in w for w in warnings)
