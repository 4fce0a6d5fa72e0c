"""The labelled corpus: validator, generator determinism, honest splits, loader, stats vs data card."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from data import BUILD_DIR, CARD_PATH, SEED_DIR
from data.augment import Augmenter, augment_rows, tail_rows, template_rows
from data.build import build, write_build
from data.classes import neg_class_of
from data.loader import load_splits
from data.schema import MUST_ALLOW, Row, validate_file, validate_files, write_rows
from data.splits import SPLITS, dedup_key
from data.stats import card_section, render_markdown
from model.labels import LABELS
from model.normalize import normalize
from vcguard.cli import main

GOOD = {"id": "X-1", "text": "币安注册送100U", "labels": ["crypto_marketing"], "lang": "zh", "group": "g",
        "source": "handwritten", "note": "n"}


def _write(tmp_path: Path, *rows: object, name: str = "rows.jsonl") -> Path:
    path = tmp_path / name
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ validator

BAD_ROWS = [
    ({**GOOD, "labels": ["crypto"]}, "unknown label 'crypto'"),
    ({**GOOD, "text": ""}, "empty or whitespace-only text"),
    ({**GOOD, "text": " \n\t"}, "empty or whitespace-only text"),
    ('{"id": "X-1", "text": ', "malformed JSON"),
    ([1, 2], "must be a JSON object"),
    ({k: v for k, v in GOOD.items() if k != "lang"}, "missing field 'lang'"),
    ({**GOOD, "labels": "crypto_marketing"}, "field 'labels' must be list, got str"),
    ({**GOOD, "text": 42}, "field 'text' must be str, got int"),
    ({**GOOD, "lang": "fr"}, "bad lang 'fr'"),
    ({**GOOD, "source": "scraped"}, "bad source 'scraped'"),
    ({**GOOD, "label": ["mining"]}, "unknown field 'label'"),
    ({**GOOD, "labels": ["mining", "mining"]}, "repeated label"),
    ({**GOOD, "neg_class": "ecny"}, "neg_class 'ecny' set on a row with labels"),
    ({**GOOD, "id": ""}, "id '' must be non-empty"),
    ({**GOOD, "group": " "}, "empty group"),
]


@pytest.mark.parametrize("bad, message", BAD_ROWS, ids=[m for _, m in BAD_ROWS])
def test_validator_rejects_bad_row_naming_file_and_line(tmp_path: Path, bad: object, message: str) -> None:
    ok = {**GOOD, "id": "X-0"}
    path = _write(tmp_path, ok, bad)
    with pytest.raises(ValueError) as exc:
        validate_file(path)
    assert f"{path}:2: " in str(exc.value)
    assert message in str(exc.value)


def test_validator_rejects_duplicate_ids_within_and_across_files(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD, GOOD)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}:2: duplicate id 'X-1' \(first at .*:1\)"):
        validate_file(path)
    a = _write(tmp_path, GOOD, name="a.jsonl")
    b = _write(tmp_path, {**GOOD, "id": "X-2"}, GOOD, name="b.jsonl")
    with pytest.raises(ValueError, match=rf"{re.escape(str(b))}:2: duplicate id 'X-1' \(first at {re.escape(str(a))}:1\)"):
        validate_files([a, b])


def test_validator_accepts_the_seed_set_and_blank_lines(tmp_path: Path) -> None:
    rows = validate_files([SEED_DIR])
    assert len(rows) >= 1500
    assert all(r.source == "handwritten" for r in rows)
    path = _write(tmp_path, GOOD, "", {**GOOD, "id": "X-2", "labels": []})
    assert [r.id for r in validate_file(path)] == ["X-1", "X-2"]


def test_validate_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path, {**GOOD, "lang": "de"})
    assert main(["data", "validate", str(bad)]) == 1
    assert f"{bad}:1: bad lang 'de'" in capsys.readouterr().err
    good = _write(tmp_path, GOOD, name="good.jsonl")
    assert main(["data", "validate", str(good)]) == 0


# ------------------------------------------------------------------------------------ generator

@pytest.fixture(scope="module")
def sample_seeds() -> list[Row]:
    rows = validate_files([SEED_DIR])
    return rows[::40]


def test_generator_is_deterministic_per_seed(sample_seeds: list[Row]) -> None:
    def run(seed: int) -> list[dict]:
        out = augment_rows(sample_seeds, seed) + tail_rows(sample_seeds, seed) + template_rows(300, seed)
        return [r.to_dict() for r in out]

    first, again, other = run(13), run(13), run(14)
    assert first == again
    assert first != other
    assert len(first) > 300


def test_transforms_keep_labels_and_meaning(sample_seeds: list[Row]) -> None:
    by_id = {r.id: r for r in sample_seeds}
    for row in augment_rows(sample_seeds, 13):
        parent = by_id[row.parent]
        assert row.labels == parent.labels and row.source == "generated"
        assert row.group == f"aug:{parent.group}" and row.text != parent.text
        assert row.note.startswith("aug: ")
    negatives = [r for r in sample_seeds if not r.labels]
    assert any(r.parent in {n.id for n in negatives} for r in augment_rows(sample_seeds, 13)), "negatives augmented too"
    for row in template_rows(600, 13):
        assert bool(row.labels) != bool(row.neg_class), row


def test_surface_transforms_are_undone_by_normalization() -> None:
    import random

    aug = Augmenter()
    text = "币安注册送100U，邀请码 BN77Q2，okx.com/join/8826"
    for name in ("fullwidth", "zero_width"):
        out = aug.transforms()[name](text, "zh", random.Random(1))
        assert out and out != text
        assert normalize(out).text == normalize(text).text, name
    # Allow-contexts are left alone by word substitutions.
    assert aug.transforms()["code_mix"]("合约机到期了", "zh", random.Random(0)) is None


# ------------------------------------------------------------------------------------ full build

@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[Row]]]:
    out = tmp_path_factory.mktemp("build")
    # As `vcguard data build` does: groups keep the split the committed build gave them.
    committed = BUILD_DIR / "manifest.json"
    pinned = json.loads(committed.read_text(encoding="utf-8")).get("group_split") if committed.is_file() else None
    result = build(pinned=pinned)
    write_build(result, out)
    return out, result.splits  # the written files are read back (and validated) by the stats test


def test_no_normalized_text_in_two_splits(built: tuple[Path, dict[str, list[Row]]]) -> None:
    _, rows = built
    keys = {s: {dedup_key(r.text) for r in rows[s]} for s in SPLITS}
    assert not keys["train"] & keys["dev"]
    assert not keys["train"] & keys["test"]
    assert not keys["dev"] & keys["test"]


def test_groups_do_not_straddle_and_generated_rows_follow_train(built: tuple[Path, dict[str, list[Row]]]) -> None:
    _, rows = built
    split_of: dict[str, set[str]] = {}
    for s in SPLITS:
        for r in rows[s]:
            split_of.setdefault(r.group, set()).add(s)
    assert all(len(v) == 1 for v in split_of.values())
    train_ids = {r.id for r in rows["train"] if r.source == "handwritten"}
    for r in rows["train"]:
        if r.group.startswith("aug:"):
            assert r.parent in train_ids and split_of[r.group.removeprefix("aug:")] == {"train"}


def test_test_split_is_handwritten_and_covers_every_label_and_class(built: tuple[Path, dict[str, list[Row]]]) -> None:
    _, rows = built
    test = rows["test"]
    assert len(test) >= 300
    assert all(r.source == "handwritten" for r in test + rows["dev"])
    assert {label for r in test for label in r.labels} == set(LABELS)
    assert set(MUST_ALLOW) <= {neg_class_of(r) for r in test if not r.labels}
    assert len(rows["train"]) >= 30000
    assert {r.source for r in rows["train"]} == {"handwritten", "generated"}


def test_stats_match_the_data_card(built: tuple[Path, dict[str, list[Row]]], capsys: pytest.CaptureFixture[str]) -> None:
    out, rows = built
    card = card_section(CARD_PATH.read_text(encoding="utf-8"))
    assert render_markdown(rows) == card, "data card is stale: run `vcguard data build && vcguard data stats --update-card`"
    assert main(["data", "stats", "--split-dir", str(out), "--markdown", "--check-card", str(CARD_PATH)]) == 0
    assert capsys.readouterr().out == card


def test_committed_build_is_current(built: tuple[Path, dict[str, list[Row]]]) -> None:
    out, _ = built
    if not (BUILD_DIR / "train.jsonl").is_file():
        pytest.skip("no committed build")
    for name in ("train.jsonl", "dev.jsonl", "test.jsonl", "manifest.json"):
        assert (BUILD_DIR / name).read_bytes() == (out / name).read_bytes(), f"data/build/{name} is stale: run `vcguard data build`"


# ------------------------------------------------------------------------------------ loader

def test_loader_returns_multi_hot_vectors_in_label_order(tmp_path: Path) -> None:
    rows = {
        "train": [Row("a", "x", ("crypto_marketing", "qr_lure"), "zh", "g", "handwritten"),
                  Row("a2", "x2", ("stablecoin_otc", "rwa_token", "mining", "exchange_link"), "en", "g", "generated")],
        "dev": [Row("b", "y", (), "en", "h", "handwritten", neg_class="ecny")],
        "test": [Row("c", "z", ("mining",), "mixed", "i", "handwritten")],
    }
    for split, split_rows in rows.items():
        write_rows(tmp_path / f"{split}.jsonl", split_rows)
    ds = load_splits(tmp_path)
    assert {s: ds[s].num_rows for s in SPLITS} == {"train": 2, "dev": 1, "test": 1}
    assert LABELS == ("crypto_marketing", "stablecoin_otc", "rwa_token", "mining", "exchange_link", "qr_lure")
    assert ds["train"][0]["labels"] == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert ds["train"][1]["labels"] == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    assert ds["dev"][0]["labels"] == [0.0] * len(LABELS) and ds["dev"][0]["neg_class"] == "ecny"
    assert ds["test"][0]["labels"][LABELS.index("mining")] == 1.0
    assert set(ds["test"].column_names) == {"id", "text", "labels", "lang", "group", "source", "neg_class"}
    assert ds["test"][0]["id"] == "c" and ds["test"][0]["source"] == "handwritten"


def test_new_seed_groups_never_move_known_groups_between_splits() -> None:
    from data.splits import assign_splits

    seeds = validate_files(sorted(SEED_DIR.glob("*.jsonl")))
    first = assign_splits(seeds)
    new = [Row(id=f"ZZ-{i:04d}", text=f"全新的一批手写样本第{i}条：扫码进群领USDT空投，名额{i * 7}个", labels=("qr_lure",),
               lang="zh", group=f"ZZ-new-batch-{i % 3}", source="handwritten", note="test row") for i in range(40)]
    again = assign_splits([*seeds, *new], pinned=first.unit_split)
    assert {g: again.unit_split[g] for g in first.unit_split} == first.unit_split
    assert {again.unit_split[f"ZZ-new-batch-{k}"] for k in range(3)} <= set(SPLITS)
    # without pins the same input may well reshuffle; with an unknown split name it is refused
    with pytest.raises(ValueError, match="pinned split"):
        assign_splits(seeds, pinned={seeds[0].group: "holdout"})
