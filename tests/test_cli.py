"""``vcguard classify``: one JSON line per input line, errors as records, never a traceback."""

from __future__ import annotations

import io
import json
import sys

import pytest

from vcguard.cli import main


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data: bytes,
         *args: str) -> tuple[int, list[dict], str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code = main(["classify", "-", "--rules-only", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_stdin_lines_each_get_one_record(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = (
        '{"id": "a", "text": "高价收U，大额秒到，U商"}\n'.encode()
        + "plain line about the weather\n".encode()
        + b"\xff\xfe not utf-8\n"
        + b'{"id": 4}\n'
        + b'{"id": 5, "text": 42}\n'
        + b"{broken json\n"
        + "😀😀🔥\n".encode()
        + b"\x00\x01\x02 junk\n"
        + b"\n"
    )
    code, records, err = _run(monkeypatch, capsys, data)
    assert code == 0
    assert [r["line"] for r in records] == list(range(1, 10))
    by_line = {r["line"]: r for r in records}
    assert by_line[1]["id"] == "a" and by_line[1]["decision"] in ("review", "block")
    assert by_line[2]["decision"] == "allow"
    assert by_line[3]["error"].startswith("invalid UTF-8")
    assert by_line[4]["error"] == "field 'text' is missing"
    assert "not a string (int)" in by_line[5]["error"]
    assert by_line[6]["error"].startswith("invalid JSON")
    assert by_line[7]["decision"] == "allow"
    assert by_line[8]["decision"] == "allow"
    assert "empty_text" in by_line[9]["notes"]
    assert "4 input line(s) could not be read" in err


def test_single_text_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "--rules-only", "okx[.]com 注册 邀请码 K8K8K8 返佣"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["decision"] in ("review", "block")
    assert any(e["matched"] == "okx[.]com" for e in result["evidence"])


def test_bad_option_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "--rules-only", "--batch-size", "0", "x"]) == 2
    assert "--batch-size must be >= 1" in capsys.readouterr().err


def test_missing_artifact_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert main(["classify", "--artifact", str(tmp_path / "nope"), "x"]) == 2
    assert "manifest.json missing" in capsys.readouterr().err
