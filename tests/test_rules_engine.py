"""Rule-engine behaviours beyond the case table: tails on long articles, bad input, entities."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.classifier import Classifier
from model.lexicon import Lexicon, default_lexicon
from model.rules import RuleEngine

ARTICLE = (Path(__file__).parent / "cases" / "long_article.txt").read_text("utf-8")
TAIL = "\n\n——————\n想上车的朋友：币安注册 binance.com/join?ref=VC88A1 邀请码 VC88A1，返佣30%！\n加V❤ moon_trader88 拉你进飞机群，每天喊单带单。"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier()


def test_long_regulation_article_is_allowed(clf: Classifier) -> None:
    assert len(ARTICLE) >= 500
    result = clf.classify(ARTICLE)
    assert result.decision == "allow", [(l["label"], l["score"]) for l in result.labels if l["score"]]


def test_same_article_with_invite_tail_is_flagged_on_the_tail(clf: Classifier) -> None:
    text = ARTICLE + TAIL
    result = clf.classify(text)
    assert result.decision == "block"
    flagged = {l["label"] for l in result.labels if l["action"] == "block"}
    assert "exchange_link" in flagged
    tail_start = len(ARTICLE)
    link_evidence = [e for e in result.evidence if e.label == "exchange_link" and e.kind in ("domain", "invite_code")]
    assert link_evidence, result.to_dict()
    assert all(e.start >= tail_start for e in link_evidence)
    assert any(e.matched.startswith("binance.com/join?ref=VC88A1") for e in link_evidence)
    assert all(text[e.start:e.end] == e.matched for e in result.evidence)
    assert "VC88A1" in result.entities.invite_codes
    assert {"kind": "wechat", "value": "moon_trader88"} in result.entities.handles


@pytest.mark.parametrize(
    "text, note",
    [("", "empty_text"), ("   \t\n ", "empty_text"), ("\u200b\u200c\ufeff", "no_readable_text")],
)
def test_empty_like_input_is_answered_with_a_note(clf: Classifier, text: str, note: str) -> None:
    result = clf.classify(text)
    assert result.decision == "allow"
    assert note in result.notes


def test_one_megabyte_of_text_is_answered(clf: Classifier) -> None:
    text = ("这是一段普通的文字，没有任何推广内容。" * 60000)[:1_000_000] + " 收U出U 秒到 U商"
    result = clf.classify(text)
    assert result.decision in ("review", "block")
    assert any(e.start >= 999_000 for e in result.evidence)


def test_binary_junk_is_answered(clf: Classifier) -> None:
    junk = bytes(range(256)).decode("latin-1") * 4
    result = clf.classify(junk)
    assert result.decision == "allow"


def test_non_string_input_raises_type_error(clf: Classifier) -> None:
    with pytest.raises(TypeError, match="position 0 must be str"):
        clf.classify_batch([b"bytes"])  # type: ignore[list-item]


def test_latin_terms_need_word_boundaries() -> None:
    engine = RuleEngine()
    assert engine.analyze("usdtx protocol docs").scores["stablecoin_otc"] == 0.0
    assert engine.analyze("sell usdt here").scores["stablecoin_otc"] > 0.8


def test_adjacent_chinese_terms_are_all_found() -> None:
    # flashtext-style matchers miss the second of two adjacent CJK keywords; Aho-Corasick does not.
    result = RuleEngine().analyze("带单喊单")
    assert {e.matched for e in result.evidence} >= {"带单", "喊单"}


def test_wallet_addresses_are_extracted() -> None:
    tron = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"
    erc = "0x" + "ab12" * 10
    result = RuleEngine().analyze(f"收U地址 {tron}，ETH 地址 {erc}")
    kinds = {(w["kind"], w["address"]) for w in result.entities.wallets}
    assert ("tron", tron) in kinds and ("erc20", erc) in kinds


def test_live_edits_add_and_remove_terms() -> None:
    lex = default_lexicon()
    edited = lex.with_edits({"add": {"crypto_marketing": {"strong": ["月光币"]}}})
    assert RuleEngine(edited).analyze("月光币今晚起飞").scores["crypto_marketing"] >= 0.85
    assert RuleEngine(lex).analyze("月光币今晚起飞").scores["crypto_marketing"] == 0.0
    removed = edited.with_edits({"remove": {"crypto_marketing": ["月光币"]}})
    assert RuleEngine(removed).analyze("月光币今晚起飞").scores["crypto_marketing"] == 0.0
    allowed = lex.with_edits({"allow_add": ["收u盘"]})
    assert RuleEngine(allowed).analyze("收u盘").scores["stablecoin_otc"] == 0.0


@pytest.mark.parametrize(
    "document, message",
    [
        ({"tiers": {"strong": 0.9}, "labels": {}}, "tiers"),
        ({"tiers": {"strong": 0.9, "medium": 0.5, "weak": 0.2}, "labels": {"bogus": {"strong": ["x"]}}}, "unknown label"),
        ({"tiers": {"strong": 0.9, "medium": 0.5, "weak": 0.2}, "labels": {"mining": {"huge": ["x"]}}}, "unknown tier"),
        ({"tiers": {"strong": 0.9, "medium": 0.5, "weak": 0.2}, "labels": {"mining": {"strong": [""]}}}, "non-empty"),
    ],
)
def test_bad_lexicon_documents_are_refused(document: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Lexicon.from_document(document)


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "lex.yaml"
    path.write_text("tiers: {strong: 0.9, medium: 0.5, weak: 0.2}\nlabels:\n  mining: {strong: [a]}\n  mining: {strong: [b]}\n")
    with pytest.raises(ValueError, match="duplicate key 'mining'"):
        Lexicon.load(path)
