"""Normalization: each evasion the policy lists is undone, and offsets always point into the raw text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.normalize import normalize, normalize_term

CASES = [
    ("ＯＫＸ", "okx", "full-width letters fold to ASCII"),
    ("BiNaNcE", "binance", "case folding"),
    ("幣安", "币安", "traditional to simplified"),
    ("币\u200b安", "币安", "zero-width space removed"),
    ("币\u200d\ufeff安", "币安", "zero-width joiner and BOM removed"),
    ("Вinаnсе", "binance", "Cyrillic look-alikes"),
    ("οkx", "okx", "Greek omicron"),
    ("b1nance", "binance", "digit for a letter inside a word"),
    ("0KX", "okx", "leading digit for a letter"),
    ("u$dt", "usdt", "dollar sign for s inside a word"),
    ("币 安", "币安", "space between Chinese characters"),
    ("欧.易", "欧易", "dot between Chinese characters"),
    ("币❤安", "币安", "emoji between Chinese characters"),
    ("O K X", "okx", "spaced single letters"),
    ("b.i.n.a.n.c.e", "binance", "dotted single letters"),
    ("okx[.]com", "okx.com", "bracketed dot"),
    ("okx(dot)com", "okx.com", "(dot)"),
    ("binance点com", "binance.com", "点 as a dot"),
    ("binance 点 com", "binance.com", "spaced 点"),
    ("okx dot com", "okx.com", "spelled-out dot before a TLD"),
    ("t。me/abc", "t.me/abc", "Chinese full stop inside a link"),
    ("hxxps://x.io", "https://x.io", "hxxps scheme"),
    ("trc20 s21 1000u", "trc20 s21 1000u", "real numbers inside tokens stay"),
    ("8pm 5am 3rd 4th 5km 8gb", "8pm 5am 3rd 4th 5km 8gb", "numbers with a unit, time or ordinal stay"),
    ("8inance 0kx", "binance okx", "a leading digit before other letters is still a look-alike"),
    ("我 们", "我们", "spaces between Chinese characters join"),
    ("hello world", "hello world", "spaces between English words stay"),
    ("买币，安全第一", "买币,安全第一", "sentence punctuation is never joined across"),
]


@pytest.mark.parametrize("raw, expected, why", CASES, ids=[c[2] for c in CASES])
def test_evasions_are_undone(raw: str, expected: str, why: str) -> None:
    assert normalize(raw).text == expected, why


def test_link_view_keeps_case_and_digits() -> None:
    norm = normalize("邀请码 Ab12Cd okx[.]com TJRabPrwbZy45sbavfcjinPJC18kjpRTv8")
    assert "Ab12Cd" in norm.link_text
    assert "okx.com" in norm.link_text
    assert "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8" in norm.link_text


def test_spans_map_back_to_raw() -> None:
    raw = "快来 币 安 注册"
    norm = normalize(raw)
    start = norm.text.index("币安")
    rs, re_ = norm.raw_span(start, start + 2)
    assert raw[rs:re_] == "币 安"


def test_out_of_range_span_raises() -> None:
    with pytest.raises(ValueError, match="outside"):
        normalize("abc").raw_span(2, 9)


def test_non_string_raises() -> None:
    with pytest.raises(TypeError, match="expects str"):
        normalize(123)  # type: ignore[arg-type]


def test_terms_normalize_like_text() -> None:
    assert normalize_term("幣安") == normalize("幣安").text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_offsets_are_monotonic_and_in_range(raw: str) -> None:
    norm = normalize(raw)
    for view, offsets in ((norm.text, norm.offsets), (norm.link_text, norm.link_offsets)):
        assert len(view) == len(offsets)
        assert all(0 <= o < len(raw) for o in offsets)
        assert list(offsets) == sorted(offsets)
