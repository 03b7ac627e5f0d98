"""The built-in `fetch` job type against a real HTTP server on 127.0.0.1, run by the real engine.

The server serves generated files, answers Range (and If-Range) requests, and follows a per-path
script: `503` and `404` answer that status, `429:S` answers 429 with `Retry-After: S`, `drop` sends
half the body then closes the connection, `drop-change` does so and then changes the file, `trickle`
sends half the body, sets `trickling`, then sends the rest 1 KB at a time (a slow link).
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobtui import JobStatus, Runner
from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.engine import workspace_root_for
from jobtui.errors import ParamError, UsageError
from jobtui.jobs.fetch import MAX_RETRY_AFTER_S, _retry_after_s, file_names
from jobtui.model import ItemRecord, ItemStatus, JobDetail
from jobtui.store import Store

FAST = {"backoff": 0.01, "retries": 3, "timeout": 5.0}
"""Params that keep retries quick: a real user keeps the default backoff of 2 s."""


@dataclass
class Hit:
    """One request the server saw."""

    path: str
    range: str | None
    if_range: str | None
    step: str
    at: float


@dataclass
class FileServer:
    """Generated files over HTTP/1.1, with Range support and a failure script per path."""

    files: dict[str, bytes] = field(default_factory=dict)
    script: dict[str, list[str]] = field(default_factory=dict)
    no_range: set[str] = field(default_factory=set)
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    trickling: threading.Event = field(default_factory=threading.Event)
    closing: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def add(self, path: str, size: int, *script: str, ranges: bool = True) -> tuple[str, bytes]:
        """Serve `size` random bytes at `path`; return its URL and the bytes."""
        data = random.Random(path).randbytes(size)
        self.files[path] = data
        self.script[path] = list(script)
        if not ranges:
            self.no_range.add(path)
        return self.url(path), data

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits_for(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        app: FileServer = self.server.app  # type: ignore[attr-defined]
        path, rng, if_range = self.path, self.headers.get("Range"), self.headers.get("If-Range")
        with app.lock:
            todo = app.script.get(path)
            step = todo.pop(0) if todo else "ok"
            app.hits.append(Hit(path, rng, if_range, step, time.monotonic()))
            data = app.files.get(path)
        if step == "503":
            return self._empty(503)
        if step.startswith("429"):
            return self._empty(429, {"Retry-After": step.partition(":")[2]})
        if data is None or step == "404":
            return self._empty(404)
        etag = f'"{hashlib.sha256(data).hexdigest()[:16]}"'
        start, status = 0, 200
        if rng and path not in app.no_range and if_range in (None, etag):
            start = int(rng.removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                return self._empty(416, {"Content-Range": f"bytes */{len(data)}"})
            status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if step.startswith("drop"):
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True  # the socket closes mid-body: the client sees a short read
            if step == "drop-change":
                with app.lock:
                    app.files[path] = bytes(reversed(data))
            return
        if step == "trickle":
            half = len(body) // 2
            self.wfile.write(body[:half])
            app.trickling.set()
            for i in range(half, len(body), 1024):
                if app.closing.wait(0.01):  # the pace of a slow link
                    return
                self.wfile.write(body[i : i + 1024])
            return
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early (a 416, a cancelled test) is not a server failure


@pytest.fixture
def server() -> Iterator[FileServer]:
    app = FileServer()
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.app = app  # type: ignore[attr-defined]
    app.port = httpd.server_address[1]
    # A short poll interval: shutdown() waits for the serve loop to look at its flag.
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), name="fetch-test-server", daemon=True)
    thread.start()
    yield app
    app.closing.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL whose port is bound but not listening: every connect is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/nothing.bin"
    sock.close()


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    store = await Store.open(tmp_path / "t.db")
    yield Client(store, default_registry())
    await store.close()


@dataclass
class Done:
    """A fetch job after the runner went idle."""

    job_id: int
    detail: JobDetail
    items: dict[str, ItemRecord]
    workspace: Path

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.workspace / "manifest.json").read_text())  # type: ignore[no-any-return]


async def submit(client: Client, urls: list[str], **params: Any) -> int:
    return await client.submit("fetch", {**FAST, "urls": json.dumps(urls), **params})


async def run(client: Client, job_id: int) -> Done:
    """Run the real engine until idle; return the job's detail, items and workspace."""
    await asyncio.wait_for(Runner(client.store, client.registry, concurrency=2).run(exit_when_idle=True), 30)
    items = {r.key: r async for r in client.export(job_id)}
    return Done(job_id, await client.detail(job_id), items, workspace_root_for(client.store.path) / str(job_id))


async def fetch(client: Client, urls: list[str], **params: Any) -> Done:
    return await run(client, await submit(client, urls, **params))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------- tests
async def test_all_urls_download_byte_identical_and_land_in_dest(
    client: Client, server: FileServer, tmp_path: Path
) -> None:
    files = dict([server.add("/a/data.bin", 300_000), server.add("/b/data.bin", 1_000), server.add("/empty", 0)])
    dest = tmp_path / "out"
    done = await fetch(client, list(files), dest=str(dest), workers=3)

    assert done.detail.job.status is JobStatus.COMPLETED
    assert done.detail.to_dict()["counters"]["items_done"] == 3
    names = set()
    for url, data in files.items():
        item = done.items[url]
        assert item.status is ItemStatus.DONE and item.attempts == 1
        r = item.result
        assert r["bytes"] == len(data) and r["sha256"] == sha(data) and r["resumed_bytes"] == 0
        assert (done.workspace / r["file"]).read_bytes() == data
        assert (dest / r["file"]).read_bytes() == data
        names.add(r["file"])
    assert len(names) == 3  # two URLs named data.bin get two files
    assert done.manifest == json.loads((dest / "manifest.json").read_text())
    assert [f["url"] for f in done.manifest["files"]] == list(files) and done.manifest["failed"] == {}
    assert not [p for p in done.workspace.iterdir() if p.name.endswith(".part")]
    assert done.detail.job.to_dict()["params"]["dest"] == str(dest)


async def test_transient_503_is_retried_then_succeeds(client: Client, server: FileServer) -> None:
    url, data = server.add("/flaky.bin", 50_000, "503", "503")
    done = await fetch(client, [url])

    assert done.detail.job.status is JobStatus.COMPLETED
    assert done.items[url].attempts == 3
    assert done.items[url].result["sha256"] == sha(data)
    assert [h.step for h in server.hits_for("/flaky.bin")] == ["503", "503", "ok"]


async def test_429_waits_as_long_as_retry_after_says(client: Client, server: FileServer) -> None:
    url, _ = server.add("/busy.bin", 10_000, "429:0.4")
    done = await fetch(client, [url])

    assert done.items[url].status is ItemStatus.DONE and done.items[url].attempts == 2
    first, second = server.hits_for("/busy.bin")
    assert second.at - first.at >= 0.4  # the backoff alone would be about 0.01 s


async def test_404_fails_its_item_at_once_and_the_rest_completes(client: Client, server: FileServer) -> None:
    ok_url, _ = server.add("/ok.bin", 1_000)
    missing = server.url("/missing.bin")
    done = await fetch(client, [missing, ok_url], allow_failures="1")

    assert done.detail.job.status is JobStatus.COMPLETED  # `jobtui retry` fetches the failed ones again
    assert "tolerated: 1 of 2 items failed" in (done.detail.stages[0].error or "")
    item = done.items[missing]
    assert item.status is ItemStatus.FAILED and item.attempts == 1
    assert (item.error or "").startswith("HTTPStatusError: HTTP 404")
    assert len(server.hits_for("/missing.bin")) == 1
    assert done.items[ok_url].status is ItemStatus.DONE
    assert list(done.manifest["failed"]) == [missing]
    assert done.detail.to_dict()["counters"] == {"items_done": 1, "items_failed": 1, "results": 1}


async def test_a_failed_url_fails_the_job_unless_allowed(client: Client, server: FileServer) -> None:
    """Issue 15, item 1: a fetch with a URL that failed for good ended `completed`."""
    ok_url, _ = server.add("/ok2.bin", 1_000)
    missing = server.url("/missing2.bin")
    done = await fetch(client, [missing, ok_url])

    assert done.detail.job.status is JobStatus.FAILED
    assert "1 of 2 items failed" in (done.detail.job.error_message or "")
    assert done.items[ok_url].status is ItemStatus.DONE, "the partial result is kept (export)"
    assert done.detail.to_dict()["counters"] == {"items_done": 1, "items_failed": 1, "results": 1}
    with pytest.raises(UsageError, match="allow_failures"):
        await submit(client, [ok_url], allow_failures="lots")


async def test_dropped_connection_resumes_with_range(client: Client, server: FileServer) -> None:
    url, data = server.add("/big.bin", 400_000, "drop")
    done = await fetch(client, [url])

    first, second = server.hits_for("/big.bin")
    assert first.range is None and first.step == "drop"
    assert second.range is not None and second.range.startswith("bytes=") and second.range != "bytes=0-"
    offset = int(second.range.removeprefix("bytes=").rstrip("-"))
    assert second.if_range is not None  # the ETag of the first answer guards the splice
    r = done.items[url].result
    assert done.items[url].attempts == 2
    assert r["resumed_bytes"] == offset > 0
    assert r["sha256"] == sha(data) and (done.workspace / r["file"]).read_bytes() == data


async def test_server_without_range_support_restarts_cleanly(client: Client, server: FileServer) -> None:
    url, data = server.add("/norange.bin", 200_000, "drop", ranges=False)
    done = await fetch(client, [url])

    assert server.hits_for("/norange.bin")[1].range is not None  # asked, but got a 200
    r = done.items[url].result
    assert r["resumed_bytes"] == 0 and r["bytes"] == len(data)
    assert (done.workspace / r["file"]).read_bytes() == data


async def test_file_changed_between_attempts_is_fetched_whole(client: Client, server: FileServer) -> None:
    url, data = server.add("/moving.bin", 100_000, "drop-change")
    done = await fetch(client, [url])

    r = done.items[url].result
    assert r["resumed_bytes"] == 0  # If-Range did not match: no splice of two versions
    assert (done.workspace / r["file"]).read_bytes() == bytes(reversed(data))


async def test_partial_file_of_an_earlier_run_is_resumed(client: Client, server: FileServer) -> None:
    """A runner that died mid-download leaves a .part file; the next run asks only for the rest."""
    url, data = server.add("/crash.bin", 100_000)
    job_id = await submit(client, [url])
    workspace = workspace_root_for(client.store.path) / str(job_id)
    workspace.mkdir(parents=True)
    (workspace / ".crash.bin.part").write_bytes(data[:30_000])
    done = await run(client, job_id)

    assert [h.range for h in server.hits_for("/crash.bin")] == ["bytes=30000-"]
    assert done.items[url].result["resumed_bytes"] == 30_000
    assert (workspace / "crash.bin").read_bytes() == data


async def test_pause_mid_download_keeps_the_partial_file_and_resume_continues_it(
    client: Client, server: FileServer
) -> None:
    url, data = server.add("/slow.bin", 400_000, "trickle")
    job_id = await submit(client, [url])
    # A long grace: the pause must come from the download loop's own safe point, not from an interrupt.
    runner = Runner(client.store, client.registry, concurrency=2, grace_s=60, control_poll_s=0.02)
    task = asyncio.create_task(runner.run(exit_when_idle=True))
    assert await asyncio.to_thread(server.trickling.wait, 10)
    await client.pause(job_id)
    await asyncio.wait_for(task, 10)

    assert (await client.job(job_id)).status is JobStatus.PAUSED
    part = workspace_root_for(client.store.path) / str(job_id) / ".slow.bin.part"
    kept = part.stat().st_size
    assert 0 < kept < len(data)
    await client.resume(job_id)
    done = await run(client, job_id)

    assert server.hits_for("/slow.bin")[-1].range == f"bytes={kept}-"
    assert done.items[url].result["resumed_bytes"] == kept
    assert (done.workspace / "slow.bin").read_bytes() == data


async def test_connection_refused_is_transient_and_fails_after_its_retries(
    client: Client, refused_url: str
) -> None:
    done = await fetch(client, [refused_url], retries=2, allow_failures="100%")

    item = done.items[refused_url]
    assert item.status is ItemStatus.FAILED
    assert item.attempts == 3
    assert "ConnectError" in (item.error or "")
    assert done.manifest["failed"] == {refused_url: item.error}


async def test_sha256_mismatch_fails_without_retry_and_keeps_no_file(client: Client, server: FileServer) -> None:
    url, _ = server.add("/signed.bin", 5_000)
    good_url, good = server.add("/good.bin", 5_000)
    done = await fetch(client, [url, good_url], sha256=json.dumps({url: "0" * 64, good_url: sha(good).upper()}))

    assert done.items[url].status is ItemStatus.FAILED and done.items[url].attempts == 1
    assert "sha256" in (done.items[url].error or "")
    assert not (done.workspace / "signed.bin").exists() and not (done.workspace / ".signed.bin.part").exists()
    assert done.items[good_url].status is ItemStatus.DONE


async def test_retry_fetches_only_the_failed_urls(client: Client, server: FileServer) -> None:
    ok_url, _ = server.add("/one.bin", 1_000)
    late_url, _ = server.add("/late.bin", 1_000, "404")
    done = await fetch(client, [ok_url, late_url])
    assert done.items[late_url].status is ItemStatus.FAILED

    await client.retry(done.job_id)
    done = await run(client, done.job_id)

    assert done.detail.job.status is JobStatus.COMPLETED
    assert done.items[late_url].status is ItemStatus.DONE
    assert len(server.hits_for("/one.bin")) == 1 and len(server.hits_for("/late.bin")) == 2
    assert done.manifest["failed"] == {} and len(done.manifest["files"]) == 2


async def test_rewind_confirms_an_unchanged_file_without_fetching_it_again(client: Client, server: FileServer) -> None:
    url, data = server.add("/same.bin", 50_000)
    done = await fetch(client, [url])

    await client.rewind(done.job_id, "download")
    done = await run(client, done.job_id)

    assert server.hits_for("/same.bin")[-1].range == f"bytes={len(data)}-"  # answered 416: nothing sent
    r = done.items[url].result
    assert r["resumed_bytes"] == r["bytes"] == len(data) and r["sha256"] == sha(data)
    assert (done.workspace / "same.bin").read_bytes() == data


async def test_rewind_after_a_change_leaves_the_old_dest_file_intact(
    client: Client, server: FileServer, tmp_path: Path
) -> None:
    """The files in `dest` are hard links: a new download must not write through them."""
    url, old = server.add("/report.bin", 50_000)
    dest = tmp_path / "out"
    done = await fetch(client, [url], dest=str(dest))
    (tmp_path / "old.bin").hardlink_to(dest / "report.bin")
    new = server.files["/report.bin"] = old[::-1] + b"more"

    await client.rewind(done.job_id, "download")
    done = await run(client, done.job_id)

    assert server.hits_for("/report.bin")[-1].if_range is not None  # the old ETag: so a whole new body
    assert done.items[url].result["resumed_bytes"] == 0
    assert (dest / "report.bin").read_bytes() == new == (done.workspace / "report.bin").read_bytes()
    assert (tmp_path / "old.bin").read_bytes() == old


def test_retry_after_takes_seconds_or_a_date_and_is_capped() -> None:
    def wait(value: str) -> float | None:
        return _retry_after_s(httpx.Response(503, headers={"Retry-After": value} if value else {}))

    assert wait("") is None and wait("soon") is None
    assert wait("7") == 7 and wait("-3") == 0 and wait("86400") == MAX_RETRY_AFTER_S
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= (wait(in_a_minute) or 0) <= 60


def test_bad_params_are_refused_at_submit() -> None:
    jt = default_registry().get("fetch")
    for bad in ("[]", '["ftp://host/x"]', '"http://host/x"', '["http:///x"]', "[1]"):
        with pytest.raises(ParamError, match="urls"):
            jt.validate({"urls": bad})
    ok = jt.validate({"urls": '["https://host/x"]', "dest": "out"})
    assert ok["urls"] == ["https://host/x"] and Path(ok["dest"]).is_absolute()
    assert jt.validate({"urls": ["http://h/x"]})["dest"] == ""


def test_file_names_are_safe_and_unique() -> None:
    names = file_names(
        ["http://a/x.bin", "https://b/x.bin", "http://c/", "http://d/manifest.json", "http://e/%2e%2e%2fetc",
         "http://f/a%20b.txt?q=1", "http://a/x.bin"]
    )
    assert names["http://a/x.bin"] == "x.bin" and names["https://b/x.bin"].endswith("-x.bin")
    assert names["http://c/"] == "index" and names["http://d/manifest.json"] != "manifest.json"
    assert names["http://e/%2e%2e%2fetc"] == "etc" and names["http://f/a%20b.txt?q=1"] == "a_b.txt"
    assert len(set(names.values())) == len(names) == 6
    assert not any(n.startswith(".") or "/" in n for n in names.values())


async def test_manifest_keeps_no_password_or_secret_query_of_a_url(client: Client, server: FileServer) -> None:
    """Issue 6, item 6: manifest.json kept `user:password@` and `?api_key=` of the URLs."""
    path = "/s/data.bin?n=1&api_key=Sx-query-manifest&X-Amz-Signature=Sx-sig-manifest"
    server.add(path, 1000)
    url = f"http://bob:Sx-pass-manifest@127.0.0.1:{server.port}{path}"
    missing = f"http://eve:Sx-pass-missing@127.0.0.1:{server.port}/none?token=Sx-token-missing"
    done = await fetch(client, [url, missing], allow_failures="50%")
    text = (done.workspace / "manifest.json").read_text()
    for secret in ("Sx-query-manifest", "Sx-sig-manifest", "Sx-pass-manifest", "Sx-pass-missing", "Sx-token-missing"):
        assert secret not in text
    files = done.manifest["files"]
    assert [f["bytes"] for f in files] == [1000] and files[0]["url"].startswith("http://bob:***@127.0.0.1")
    assert "n=1" in files[0]["url"] and len(done.manifest["failed"]) == 1
    assert done.items[url].result["url"] == url  # the store keeps the real URL: a retry needs it


class _Recording:
    """A `.part` file that records the thread of every write (and delegates to the real file)."""

    def __init__(self, f: Any, threads: list[int]) -> None:
        self._f = f
        self._threads = threads

    def write(self, data: bytes) -> int:
        self._threads.append(threading.get_ident())
        return int(self._f.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def __enter__(self) -> _Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


async def test_body_is_written_and_fsynced_off_the_event_loop(
    client: Client, server: FileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8: fetch wrote and fsynced each chunk on the event loop that also drives the TUI."""
    import os

    writes: list[int] = []
    syncs: list[int] = []
    real_open, real_fsync = Path.open, os.fsync

    def open_(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        f = real_open(self, mode, *args, **kwargs)
        return _Recording(f, writes) if self.name.endswith(".part") and "b" in mode else f

    def fsync(fd: int) -> None:
        syncs.append(threading.get_ident())
        real_fsync(fd)

    monkeypatch.setattr(Path, "open", open_)
    monkeypatch.setattr(os, "fsync", fsync)
    url, data = server.add("/big.bin", 3_000_000)
    loop_thread = threading.get_ident()
    done = await fetch(client, [url])

    assert done.items[url].result["sha256"] == sha(data)
    assert (done.workspace / done.items[url].result["file"]).read_bytes() == data
    assert writes and syncs
    assert loop_thread not in writes, "a chunk was written on the event loop's thread"
    assert loop_thread not in syncs, "the body was fsynced on the event loop's thread"


async def test_no_file_of_a_download_is_touched_on_the_event_loop(
    client: Client, server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8: fetch opened, renamed and wrote its `.part`, `.meta` and manifest files on the event loop
    that also drives the TUI; a built-in type is the example users copy."""
    touched: list[tuple[str, str]] = []
    loop_thread = threading.get_ident()

    def watch(name: str) -> None:
        real = getattr(Path, name)

        def method(self: Path, *args: Any, **kwargs: Any) -> Any:
            ours = self.name.endswith((".part", ".meta", "manifest.json", ".tmp")) or self.name == "same.bin"
            if ours and threading.get_ident() == loop_thread:
                touched.append((name, self.name))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Path, name, method)

    for name in ("open", "write_text", "replace", "unlink", "stat", "exists"):
        watch(name)
    url, data = server.add("/same.bin", 50_000)
    done = await fetch(client, [url], dest=str(tmp_path / "out"))
    await client.rewind(done.job_id, "download")  # the finished file goes back to .part and is confirmed
    done = await run(client, done.job_id)
    monkeypatch.undo()  # the test's own reads below are not the job's

    assert touched == [], f"touched on the event loop's thread: {sorted(set(touched))}"
    assert done.detail.job.status is JobStatus.COMPLETED
    assert (done.workspace / "same.bin").read_bytes() == data
    assert server.hits_for("/same.bin")[-1].range == f"bytes={len(data)}-", "the rewind resumed the finished file"
