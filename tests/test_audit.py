"""Offline audits (``serving.audit``): formats, bad rows, resume after interruption, workers, Ray, report."""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from model.labels import LABELS
from serving.audit import cli as audit_cli
from serving.audit.readers import BadRow, Post, iter_records, open_input
from serving.audit.records import iter_results
from serving.audit.report import highlight, write_report
from serving.audit.runner import AuditConfig, run_audit

ROOT = Path(__file__).resolve().parents[1]

PROMO = [
    "币安注册 binance.com/join?ref=VC88A1 邀请码 VC88A1，返佣30%！",
    "加V❤ moon_trader88 拉你进飞机群，每天喊单带单。",
    "USDT承兑 大量收u 出u 价格美丽 TG @otc_king88",
    "Buy BTC now! 100x guaranteed, join t.me/moonshot_signals",
    "<b>Free airdrop</b> scan the QR code & add wechat lucky_coin01 to claim USDT",
]
NORMAL = [
    "今天天气很好，我们去公园散步了。",
    "The weather is nice today, went for a walk by the river.",
    "央行发布通知，提醒公众警惕虚拟货币炒作风险。",
    "I read an article about blockchain regulation in the EU.",
    "周末去看了电影，剧情一般但是特效很棒。",
]


def make_posts(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        text = rng.choice(PROMO if rng.random() < 0.4 else NORMAL)
        posts.append({"id": f"p{i}", "text": f"{text} #{i}"})
    return posts


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def write_input(path: Path, rows: list[dict[str, Any]]) -> Path:
    name = path.name
    if name.endswith((".jsonl", ".jsonl.gz")):
        return write_jsonl(path, rows)
    if name.endswith(".csv"):
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["id", "text"])
            writer.writeheader()
            writer.writerows(rows)
        return path
    if name.endswith(".parquet"):
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=64)
        return path
    raise ValueError(name)


def audit(tmp: Path, src: Path, name: str = "out.jsonl", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("batch_size", 16)
    return run_audit(AuditConfig(input=src, out=tmp / name, **kwargs))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def posts() -> list[dict[str, Any]]:
    return make_posts(240)


@pytest.fixture()
def mixed_jsonl(tmp_path: Path, posts: list[dict[str, Any]]) -> Path:
    """Good posts with bad rows of every kind spread among them."""
    path = tmp_path / "mixed.jsonl"
    lines = [json.dumps(p, ensure_ascii=False).encode() for p in posts]
    lines[10] = b'{"id": "no-text"}'
    lines[25] = b'{"id": "num", "text": 42}'
    lines[40] = b"{not json"
    lines[55] = b""
    lines[70] = b'{"id": "bad-utf8", "text": "caf\xe9"}'
    lines[85] = b'{"id": "null", "text": null}'
    lines[100] = b'["a", "list"]'
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


# --- input formats -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["in.jsonl", "in.jsonl.gz", "in.csv", "in.parquet"])
def test_each_input_format_gives_the_same_results(tmp_path: Path, posts: list[dict[str, Any]], name: str) -> None:
    reference = audit(tmp_path, write_input(tmp_path / "ref_in.jsonl", posts), "ref.jsonl", rules_only=True)
    summary = audit(tmp_path, write_input(tmp_path / name, posts), rules_only=True)
    assert summary["reconciled"] and summary["errors"] == 0 and summary["results"] == len(posts)
    ref = read_jsonl(Path(reference["results_path"]))
    got = read_jsonl(tmp_path / "out.jsonl")
    offset = 1 if name.endswith(".csv") else 0  # the CSV header is line 1
    assert [r["line"] for r in got] == [r["line"] + offset for r in ref]
    assert [{**r, "line": 0} for r in got] == [{**r, "line": 0} for r in ref]
    assert [r["id"] for r in got] == [p["id"] for p in posts]


def test_format_is_taken_from_the_name_or_refused(tmp_path: Path) -> None:
    path = tmp_path / "posts.txt"
    path.write_text('{"text": "x"}\n', "utf-8")
    with pytest.raises(ValueError, match="input format"):
        open_input(path)
    assert open_input(path, fmt="jsonl").format == "jsonl"
    with pytest.raises(FileNotFoundError):
        open_input(tmp_path / "missing.jsonl")


# --- bad rows ----------------------------------------------------------------------------------
def test_bad_jsonl_rows_land_in_the_errors_file_with_line_numbers(tmp_path: Path, mixed_jsonl: Path) -> None:
    summary = audit(tmp_path, mixed_jsonl, rules_only=True)
    errors = {e["line"]: e for e in read_jsonl(Path(summary["errors_path"]))}
    assert sorted(errors) == [11, 26, 41, 56, 71, 86, 101]
    assert errors[11]["reason"].startswith("missing text") and errors[11]["id"] == "no-text"
    assert errors[26]["reason"].startswith("wrong type") and "int" in errors[26]["reason"]
    assert errors[41]["reason"].startswith("invalid JSON")
    assert errors[56]["reason"] == "blank line"
    assert errors[71]["reason"].startswith("undecodable") and errors[71]["id"] == "bad-utf8"
    assert errors[86]["reason"].startswith("missing text") and "null" in errors[86]["reason"]
    assert errors[101]["reason"].startswith("not a JSON object")
    result_lines = {r["line"] for r in read_jsonl(tmp_path / "out.jsonl")}
    assert result_lines.isdisjoint(errors) and len(result_lines) + len(errors) == 240


def test_bad_csv_and_parquet_rows(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,text\r\na,hello\r\nb,\r\nc\r\nd,\"multi\r\nline\"\r\ne,caf\xe9\r\nf,ok\r\n")
    records = list(iter_records(open_input(src)))
    assert [(r.line, type(r).__name__) for r in records] == [
        (2, "Post"), (3, "BadRow"), (4, "BadRow"), (5, "Post"), (7, "BadRow"), (8, "Post")]
    assert isinstance(records[3], Post) and records[3].text == "multi\r\nline"
    assert isinstance(records[4], BadRow) and records[4].reason.startswith("undecodable")

    table = pa.table({"id": pa.array([1, 2, 3], pa.int64()),
                      "body": pa.array([b"fine", None, b"\xff\xfe"], pa.binary())})
    pq.write_table(table, tmp_path / "in.parquet")
    summary = audit(tmp_path, tmp_path / "in.parquet", "pq.jsonl", text_col="body", rules_only=True)
    assert summary["results"] == 1 and summary["errors"] == 2 and summary["reconciled"]
    errors = read_jsonl(Path(summary["errors_path"]))
    assert [(e["line"], e["id"]) for e in errors] == [(2, "2"), (3, "3")]
    assert errors[0]["reason"].startswith("missing text") and errors[1]["reason"].startswith("undecodable")
    with pytest.raises(ValueError, match="not among the columns"):
        audit(tmp_path, tmp_path / "in.parquet", "pq2.jsonl", text_col="nope", rules_only=True)


# --- resume ------------------------------------------------------------------------------------
def test_interrupted_run_resumes_to_exactly_the_uninterrupted_results(tmp_path: Path, mixed_jsonl: Path) -> None:
    full = audit(tmp_path, mixed_jsonl, "full.jsonl", rules_only=True)

    def stop_midway(state: Any) -> None:
        if state.rows >= 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_audit(AuditConfig(input=mixed_jsonl, out=tmp_path / "out.jsonl", batch_size=16, rules_only=True),
                  on_batch=stop_midway)
    checkpoint = json.loads((tmp_path / "out.checkpoint.json").read_text("utf-8"))
    assert checkpoint["status"] == "running" and 100 <= checkpoint["rows"] < 240
    # A torn, uncommitted tail, as a crash in the middle of a write leaves it.
    with (tmp_path / "out.jsonl").open("ab") as fh:
        fh.write(b'{"id":"torn","line":999,"decis')
    with (tmp_path / "out.errors.jsonl").open("ab") as fh:
        fh.write(b'{"id":"torn"')

    resumed = audit(tmp_path, mixed_jsonl, rules_only=True)
    assert resumed["status"] == "complete" and resumed["sessions"] == 2 and resumed["reconciled"]
    assert (tmp_path / "out.jsonl").read_bytes() == (tmp_path / "full.jsonl").read_bytes()
    assert (tmp_path / "out.errors.jsonl").read_bytes() == (tmp_path / "full.errors.jsonl").read_bytes()
    assert (resumed["results"], resumed["errors"]) == (full["results"], full["errors"])


_KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from serving.audit.runner import AuditConfig, run_audit

    batches = 0

    def hook(state):
        global batches
        batches += 1
        if batches == 9:  # results of batch 9 are on disk, its commit is not
            os.kill(os.getpid(), signal.SIGKILL)

    run_audit(AuditConfig(input=Path(sys.argv[1]), out=Path(sys.argv[2]), batch_size=16, commit_rows=64,
                          commit_seconds=3600, rules_only=True), on_batch=hook)
""")


def test_killed_process_resumes_to_exactly_the_uninterrupted_results(tmp_path: Path, mixed_jsonl: Path) -> None:
    audit(tmp_path, mixed_jsonl, "full.jsonl", rules_only=True)
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, str(mixed_jsonl), str(out)], cwd=ROOT,
                          capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    checkpoint = json.loads((tmp_path / "out.checkpoint.json").read_text("utf-8"))
    assert checkpoint["rows"] == 128  # the commit after batch 8
    assert out.stat().st_size > checkpoint["results_bytes"]  # batch 9 was written but never committed

    resumed = audit(tmp_path, mixed_jsonl, rules_only=True)
    assert resumed["reconciled"] and resumed["sessions"] == 2
    assert out.read_bytes() == (tmp_path / "full.jsonl").read_bytes()
    assert (tmp_path / "out.errors.jsonl").read_bytes() == (tmp_path / "full.errors.jsonl").read_bytes()


def test_limit_stops_early_and_a_rerun_continues(tmp_path: Path, mixed_jsonl: Path) -> None:
    audit(tmp_path, mixed_jsonl, "full.jsonl", rules_only=True)
    part = audit(tmp_path, mixed_jsonl, rules_only=True, limit=50)
    assert part["status"] == "partial" and part["input_rows"] == 50 and part["reconciled"]
    again = audit(tmp_path, mixed_jsonl, rules_only=True, limit=50)
    assert again["input_rows"] == 50 and again["status"] == "partial"
    done = audit(tmp_path, mixed_jsonl, rules_only=True)
    assert done["status"] == "complete"
    assert (tmp_path / "out.jsonl").read_bytes() == (tmp_path / "full.jsonl").read_bytes()


def test_output_of_another_audit_is_not_resumed(tmp_path: Path, mixed_jsonl: Path, posts: list[dict[str, Any]]) -> None:
    audit(tmp_path, mixed_jsonl, rules_only=True)
    other = write_jsonl(tmp_path / "other.jsonl", posts[:20])
    with pytest.raises(ValueError, match="belongs to another audit"):
        audit(tmp_path, other, rules_only=True)
    (tmp_path / "out.checkpoint.json").unlink()
    with pytest.raises(ValueError, match="without a checkpoint"):
        audit(tmp_path, other, rules_only=True)
    assert audit(tmp_path, other, rules_only=True, overwrite=True)["results"] == 20


def test_summary_reconciles_with_the_input(tmp_path: Path, mixed_jsonl: Path) -> None:
    summary = audit(tmp_path, mixed_jsonl)  # the default loader: degrades to rules without an artifact
    n_lines = mixed_jsonl.read_bytes().count(b"\n")
    assert summary["input_rows"] == n_lines == summary["results"] + summary["errors"]
    assert summary["results_in_file"] == summary["results"] and summary["errors_in_file"] == summary["errors"]
    assert sum(summary["decisions"].values()) == summary["results"]
    assert summary["reconciled"] and summary["model_version"]
    on_disk = json.loads((tmp_path / "out.summary.json").read_text("utf-8"))
    assert on_disk["input_rows"] == summary["input_rows"]


# --- parallel and Ray --------------------------------------------------------------------------
def test_two_workers_give_the_same_results_as_one(tmp_path: Path, mixed_jsonl: Path) -> None:
    one = audit(tmp_path, mixed_jsonl, "one.jsonl", rules_only=True)
    two = audit(tmp_path, mixed_jsonl, "two.jsonl", rules_only=True, workers=2)
    assert two["reconciled"] and two["workers"] == 2
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert Path(two["errors_path"]).read_bytes() == Path(one["errors_path"]).read_bytes()


@pytest.mark.parametrize("field", ["workers", "threads", "batch_size"])
def test_counts_below_one_are_refused_by_name(tmp_path: Path, mixed_jsonl: Path, field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be an integer >= 1"):
        AuditConfig(input=mixed_jsonl, out=tmp_path / "out.jsonl", **{field: 0}).checked()


def test_ray_engine_gives_the_same_results_as_local(tmp_path: Path, mixed_jsonl: Path) -> None:
    pytest.importorskip("ray.data", reason="ray[data] is not installed (pip install 'vcguard[audit]')")
    local = audit(tmp_path, mixed_jsonl, "local.jsonl", rules_only=True)
    ray_run = audit(tmp_path, mixed_jsonl, "ray.jsonl", rules_only=True, engine="ray", workers=2)
    assert ray_run["reconciled"] and ray_run["engine"] == "ray"
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert Path(ray_run["errors_path"]).read_bytes() == Path(local["errors_path"]).read_bytes()


# --- Parquet results ---------------------------------------------------------------------------
def test_parquet_results_hold_the_jsonl_records(tmp_path: Path, mixed_jsonl: Path) -> None:
    audit(tmp_path, mixed_jsonl, "out.jsonl", rules_only=True)
    summary = audit(tmp_path, mixed_jsonl, "pq.parquet", rules_only=True)
    assert summary["format"] == "parquet" and summary["reconciled"]
    assert not (tmp_path / "pq.staging.jsonl").exists()
    from_parquet = list(iter_results(tmp_path / "pq.parquet"))
    assert from_parquet == read_jsonl(tmp_path / "out.jsonl")


# --- report ------------------------------------------------------------------------------------
def test_report_renders_and_its_totals_equal_the_results(tmp_path: Path, mixed_jsonl: Path) -> None:
    summary = audit(tmp_path, mixed_jsonl, rules_only=True)
    report = tmp_path / "report.html"
    write_report(summary, report)
    page = report.read_text("utf-8")
    totals = json.loads(re.search(r'<script type="application/json" id="audit-totals">(.*?)</script>', page).group(1))

    results = read_jsonl(tmp_path / "out.jsonl")
    assert totals["results"] == len(results) and totals["errors"] == summary["errors"]
    for decision in ("block", "review", "allow"):
        assert totals["decisions"][decision] == sum(r["decision"] == decision for r in results)
    for label in LABELS:
        for action in ("block", "review"):
            expected = sum(any(i["label"] == label and i["action"] == action for i in r["labels"]) for r in results)
            assert totals["labels"][label][action] == expected
    assert totals["decisions"]["block"] > 0
    # Self-contained: charts inline, nothing fetched from elsewhere.
    assert page.count('src="data:image/png;base64,') >= 3
    assert not re.search(r'(src|href)="(https?:)?//', page)
    # Evidence is highlighted and the post's markup is escaped, never rendered.
    assert "<mark" in page
    assert "<b>Free airdrop</b>" not in page
    assert summary["model_version"] in page and "posts/s" in page


def test_highlight_escapes_text_and_marks_overlapping_evidence() -> None:
    text = '<script>alert("x")</script> 币安注册 binance.com'
    ev = [{"start": 28, "end": 32, "label": "exchange_link", "rule_id": "term:a"},
          {"start": 28, "end": 30, "label": "crypto_marketing", "rule_id": 'b"<i>'}]
    out = highlight(text, ev)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert '<mark title="exchange_link: term:a; crypto_marketing: b&quot;&lt;i&gt;">币安</mark>' in out
    assert '<mark title="exchange_link: term:a">注册</mark>' in out
    long = "x" * 2000 + "币安注册" + "y" * 2000
    short = highlight(long, [{"start": 2000, "end": 2004, "label": "l", "rule_id": "r"}])
    assert len(short) < 500 and "<mark" in short and short.startswith("… ")


# --- CLI ---------------------------------------------------------------------------------------
def test_cli_audit_writes_results_summary_and_report(tmp_path: Path, mixed_jsonl: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="vcguard")
    audit_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", str(mixed_jsonl), "--out", str(tmp_path / "res.jsonl"), "--rules-only",
                              "--batch-size", "32", "--report", str(tmp_path / "r.html"), "--no-progress"])
    assert args.handler(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["reconciled"] and summary["report"] == str(tmp_path / "r.html")
    assert (tmp_path / "r.html").is_file() and (tmp_path / "res.errors.jsonl").is_file()
    with pytest.raises(ValueError, match="batch_size"):
        args = parser.parse_args(["audit", str(mixed_jsonl), "--out", str(tmp_path / "x.jsonl"), "--batch-size", "0"])
        args.handler(args)


def test_result_records_match_the_classifier_serialization(posts: list[dict[str, Any]]) -> None:
    from model.classifier import Classifier
    from serving.audit.records import result_record

    clf = Classifier()
    texts = [p["text"] for p in posts[:60]]
    for i, (text, res) in enumerate(zip(texts, clf.classify_batch(texts))):
        rec = json.loads(json.dumps(result_record(i + 1, "x", res)))
        expected = json.loads(json.dumps(res.to_dict()))
        assert {k: rec[k] for k in expected} == expected
        assert rec["scores"] == {item["label"]: item["score"] for item in expected["labels"]}
