"""The load generator's raw HTTP/1.1 client, against a tiny asyncio server, and its texts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from evaluation.loadtest import HELD_OUT, RawClient, default_sources, encode_requests, engine_of, load_texts


async def serve(responses: list[bytes]) -> tuple[asyncio.AbstractServer, int, list[bytes]]:
    """A server that reads one request per response and answers them in order, then closes."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for response in responses:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            received.append(head + await reader.readexactly(length))
            writer.write(response)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], received


def test_keep_alive_content_length_and_chunked_bodies() -> None:
    model = json.dumps({"engine": "model", "notes": []}).encode()
    screened = json.dumps({"engine": "model", "notes": ["screened_out"]}).encode()
    responses = [
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(model) + model,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n" + screened[:5] + b"\r\n"
        + b"%x\r\n" % (len(screened) - 5) + screened[5:] + b"\r\n0\r\n\r\n",
        b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 2\r\n\r\n{}",
    ]

    async def run() -> tuple[list[tuple[int, bytes]], list[bytes]]:
        server, port, received = await serve(responses)
        client = RawClient("127.0.0.1", port)
        requests = encode_requests(["币安 one", "two"], port)
        out = [await client.post(requests[0]), await client.post(requests[1]), await client.post(requests[0])]
        await client.close()
        server.close()
        return out, received

    out, received = asyncio.run(run())
    assert [status for status, _ in out] == [200, 200, 413]
    assert engine_of(out[0][1]) == "model" and engine_of(out[1][1]) == "screened"
    assert len(received) == 3, "one connection carried all three requests"
    assert json.loads(received[0].split(b"\r\n\r\n", 1)[1]) == {"text": "币安 one"}


def test_a_closed_connection_raises_and_the_next_post_reconnects() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"

    async def run() -> list[int]:
        server, port, _ = await serve([ok])  # each connection answers once, then closes
        client = RawClient("127.0.0.1", port)
        request = encode_requests(["x"], port)[0]
        statuses = [(await client.post(request))[0]]
        with pytest.raises((OSError, asyncio.IncompleteReadError)):
            await client.post(request)
        statuses.append((await client.post(request))[0])
        await client.close()
        server.close()
        return statuses

    assert asyncio.run(run()) == [200, 200]


def test_a_response_that_is_not_http_is_refused() -> None:
    async def run() -> None:
        server, port, _ = await serve([b"SSH-2.0-OpenSSH\r\n\r\n"])
        client = RawClient("127.0.0.1", port)
        try:
            with pytest.raises(ValueError, match="not an HTTP response"):
                await client.post(encode_requests(["x"], port)[0])
        finally:
            await client.close()
            server.close()

    asyncio.run(run())


def test_texts_default_to_the_held_out_splits_and_read_several_files(tmp_path: Path) -> None:
    assert default_sources() == list(HELD_OUT)  # the committed dev and test splits, never trained on
    held_out = sum(1 for p in HELD_OUT for line in p.read_text("utf-8").splitlines() if line.strip())
    assert len(load_texts(None, limit=100_000)) == held_out
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps({"text": "one"}) + "\n", "utf-8")
    b.write_text(json.dumps({"text": "two"}) + "\n" + json.dumps({"id": "no text"}) + "\n", "utf-8")
    assert sorted(load_texts([a, b])) == ["one", "two"]
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"id": "x"}) + "\n", "utf-8")
    with pytest.raises(ValueError, match="no 'text' fields"):
        load_texts([empty])
    with pytest.raises(FileNotFoundError):
        load_texts([tmp_path / "missing.jsonl"])
