"""The built-in `fetch` job type: durable downloads over a flaky link.

Each URL is an item of the `download` stage. Its body streams to a hidden `.NAME.part` file in the job
workspace; when a connection drops mid-body, the next attempt asks for the rest (`Range: bytes=N-`,
guarded by `If-Range`) and appends on 206, or starts over on 200. Timeouts, refused or dropped
connections and HTTP 429/5xx are retried with backoff (`retries`, `backoff`; a Retry-After is honoured);
404 and other 4xx are not. A finished body is checked against its length (and `sha256`, if given) and
only then renamed to NAME. The `manifest` stage writes manifest.json and, with `dest`, puts the files
there. A URL that failed for good leaves the job completed with failed items: `jobtui retry ID`
fetches just those again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote, urlsplit

from jobtui import Context, JobType, Param, PermanentError, Retry, TransientError, check_allow_failures, redact

if TYPE_CHECKING:
    import httpx

CHUNK = 1 << 16
"""Bytes read from the network at a time."""
WRITE_BATCH = 1 << 20
"""Bytes gathered before they are written (and hashed) at once in a worker thread."""
MANIFEST = "manifest.json"
MAX_BACKOFF_S = 60.0
"""The longest wait between two attempts of one URL."""
MAX_RETRY_AFTER_S = 120.0
"""The longest Retry-After honoured; a server asking for more gets this much."""
PROGRESS_EVERY_S = 0.5
"""Seconds between two byte-progress reports."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)")


def _httpx() -> Any:
    """Import httpx when a download starts: every jobtui process loads this module (a built-in type),
    and the import costs ~25 ms of each start of `jobtui`, downloads or not."""
    import httpx

    return httpx


class URLList(list[str]):
    """A param type: a non-empty list of http(s) URLs, or its JSON text (checked at submit)."""

    def __init__(self, value: Any = ()) -> None:
        try:
            urls = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            raise ValueError("not a JSON list of URLs") from None
        if not isinstance(urls, list):
            raise ValueError("not a JSON list of URLs")
        if not urls:
            raise ValueError("the list is empty")
        for url in urls:
            parts = urlsplit(url) if isinstance(url, str) else None
            if parts is None or not parts.hostname:
                raise ValueError(f"{url!r} is not a URL")
            if parts.scheme not in ("http", "https"):
                raise ValueError(f"{url!r}: only http and https URLs can be fetched")
        super().__init__(urls)


class Tolerance(str):
    """A param type: how many URLs may fail for good with the job still completing: "0", "3" or "10%"."""

    __slots__ = ()

    def __new__(cls, value: Any) -> Tolerance:
        try:
            return super().__new__(cls, str(check_allow_failures(str(value))))
        except ValueError as e:
            raise ValueError(str(e).replace("allow_failures", "allow_failures (a number of URLs or a percentage)",
                                            1)) from None


class Folder(str):
    """A param type: a folder path, made absolute where the job is submitted ("" stays "")."""

    __slots__ = ()

    def __new__(cls, value: Any) -> Folder:
        text = str(value).strip()
        return super().__new__(cls, str(Path(text).expanduser().absolute()) if text else "")


def file_names(urls: list[str]) -> dict[str, str]:
    """Return a file name for each URL: the last part of its path, made safe and unique."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for url in urls:
        if url in names:
            continue
        # Names never start with a dot, so the hidden .part and .meta files cannot clash with one.
        base = _UNSAFE.sub("_", unquote(urlsplit(url).path.rsplit("/", 1)[-1])).strip("._")[:120] or "index"
        digest, n, name = hashlib.sha256(url.encode()).hexdigest(), 8, base
        while name == MANIFEST or name in taken:
            name, n = f"{digest[:n]}-{base}", n + 1
        names[url] = name
        taken.add(name)
    return names


def _retry_after_s(response: httpx.Response) -> float | None:
    """Return the wait a Retry-After header asks for (seconds or an HTTP date), capped; None if none."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            import email.utils  # a Retry-After date: rare (start-up, issue 18)

            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _content_range(response: httpx.Response) -> tuple[int | None, int | None]:
    """Return (first byte, total size) of a Content-Range header; None where absent or '*'."""
    m = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if m is None:
        return None, None
    return (int(m[1]) if m[1] else None), (int(m[2]) if m[2] != "*" else None)


def _read_validator(meta: Path) -> str | None:
    """Return the ETag or Last-Modified saved beside a partial body, if any."""
    try:
        value = json.loads(meta.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, str) else None


def _resume_point(final: Path, part: Path) -> int:
    """Return how many bytes of a URL's body are kept (its `.part` file), first moving a finished file back there.

    A file finished before a crash or a rewind becomes partial again, so that the server confirms it (416)
    or sends what changed. Blocking: called in a thread.
    """
    if final.exists() and not part.exists():
        if final.stat().st_nlink > 1:  # also linked into `dest`: writing to it would change that file
            shutil.copyfile(final, part)
        else:
            final.replace(part)
    return part.stat().st_size if part.exists() else 0


def _write_atomically(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`. Blocking: called in a thread."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _hash_file(h: Any, path: Path) -> None:
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)


def _place(src: Path, folder: Path) -> Path:
    """Hard-link (or else copy) `src` into `folder` under its own name, replacing atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    dst, tmp = folder / src.name, folder / f".{src.name}.jobtui-tmp"
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)  # no second copy of a big file when dest is on the same disk
    except OSError:
        shutil.copyfile(src, tmp)
    tmp.replace(dst)
    return dst


class _Sink:
    """Writes a body to its open `.part` file off the event loop, in order.

    Chunks gather into batches of about `WRITE_BATCH` bytes; each batch is written and hashed in a
    worker thread while the next one is read from the network (one batch in flight at a time, so
    the file's bytes stay in order). The event loop that also drives the TUI and every other job
    never waits on the disk: not for a write, nor for the final fsync.
    """

    def __init__(self, f: BinaryIO, h: Any) -> None:
        self._f = f
        self._h = h
        self._chunks: list[bytes] = []
        self._size = 0
        self._pending: asyncio.Future[None] | None = None

    def _write(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self._f.write(chunk)
            self._h.update(chunk)

    def _sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    async def add(self, chunk: bytes) -> None:
        """Take one chunk; write a full batch in the background."""
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size >= WRITE_BATCH:
            await self._send()

    async def _send(self) -> None:
        if self._pending is not None:
            await self._pending  # raises a write error (disk full) here, for the item's retry to see
            self._pending = None
        if self._chunks:
            chunks, self._chunks, self._size = self._chunks, [], 0
            self._pending = asyncio.get_running_loop().run_in_executor(None, self._write, chunks)

    async def finish(self) -> None:
        """Write what is left, then make the file durable (fsync) before it may be renamed."""
        await self._send()
        await self._send()
        await asyncio.to_thread(self._sync)

    async def settle(self) -> None:
        """Write what was received and wait for it, also when cancelled: the file is never closed under a
        write, and every byte that arrived before a dropped connection or a pause is kept, so that the
        next attempt resumes after it (`Range`)."""
        cancelled = False
        failed = False
        while True:
            pending, self._pending = self._pending, None
            if pending is not None:
                while not pending.done():
                    try:
                        await asyncio.shield(pending)
                    except asyncio.CancelledError:
                        cancelled = True
                    except Exception:
                        break
                if not pending.cancelled() and pending.exception() is not None:
                    failed = True  # the write's error is the attempt's error, raised where it was awaited
            if failed or not self._chunks:
                break
            chunks, self._chunks, self._size = self._chunks, [], 0
            self._pending = asyncio.get_running_loop().run_in_executor(None, self._write, chunks)
        if cancelled:
            raise asyncio.CancelledError


class _Fetcher:
    """Downloads of one `download` stage attempt: a shared HTTP client and byte progress."""

    def __init__(self, ctx: Context, client: httpx.AsyncClient, done: int) -> None:
        self.ctx = ctx
        self.client = client
        self.names = file_names(ctx.params["urls"])
        self.done = done
        self.bytes = 0
        self._reported = time.monotonic()

    def _progress(self) -> None:
        now = time.monotonic()
        if now - self._reported >= PROGRESS_EVERY_S:
            self._reported = now
            total = len(self.names)
            self.ctx.progress(self.done, total, f"{self.done}/{total} files, {self.bytes / 1e6:.1f} MB this run")

    async def fetch(self, url: str) -> dict[str, Any]:
        """Download one URL into the workspace, resuming a partial body; return its record.

        Raises:
            httpx.HTTPStatusError: the server answered 4xx/5xx (429 and 5xx are transient).
            TransientError: the body was cut short or the server sent another range.
            PermanentError: the body does not match its expected sha256.
        """
        ctx, name = self.ctx, self.names[url]
        final, part, meta = (ctx.workspace / n for n in (name, f".{name}.part", f".{name}.meta"))
        # The file system is touched off the event loop (it also drives the TUI and every other job).
        offset = await asyncio.to_thread(_resume_point, final, part)
        headers = {"Accept-Encoding": "identity"}  # byte offsets must count the bytes as stored
        h = hashlib.sha256()
        if offset:
            headers["Range"] = f"bytes={offset}-"
            validator = await asyncio.to_thread(_read_validator, meta)
            if validator:
                headers["If-Range"] = validator  # a changed file comes back whole (200), not spliced
            await asyncio.to_thread(_hash_file, h, part)
        resumed = 0
        total: int | None
        async with self.client.stream("GET", url, headers=headers) as r:
            if r.status_code == 416 and offset and _content_range(r)[1] == offset:
                resumed, total = offset, offset  # the partial body is the whole file
            else:
                if r.status_code in (429, 503) and (wait := _retry_after_s(r)) is not None:
                    ctx.log(f"{url}: HTTP {r.status_code}, server asks to wait {wait:g}s")
                    await r.aclose()  # hold no connection while waiting
                    await ctx.sleep(wait)
                if r.status_code == 416 and offset:
                    await asyncio.to_thread(part.unlink, True)
                    raise TransientError(f"{url}: range {offset}- not satisfiable; starting over")
                if r.is_error:  # 429 and 5xx are transient (retried), other 4xx permanent: see is_transient
                    text = f"HTTP {r.status_code} {r.reason_phrase} from {url}"
                    raise _httpx().HTTPStatusError(text, request=r.request, response=r)
                if r.status_code == 206:
                    start, total = _content_range(r)
                    if start != offset:
                        await asyncio.to_thread(part.unlink, True)
                        raise TransientError(f"{url}: asked for bytes {offset}-, got {start}-; starting over")
                    resumed = offset
                else:
                    # A whole body (no range support, or the file changed): start over.
                    offset, h = 0, hashlib.sha256()
                    length = r.headers.get("Content-Length")
                    total = int(length) if length and length.isascii() and length.isdigit() and len(length) < 19 else None
                    etag = r.headers.get("ETag")
                    strong = etag if etag and not etag.startswith("W/") else r.headers.get("Last-Modified")
                    await asyncio.to_thread(meta.write_text, json.dumps(strong))
            with await asyncio.to_thread(part.open, "ab" if resumed else "wb") as f:
                sink = _Sink(f, h)
                try:
                    async for chunk in r.aiter_raw(CHUNK):
                        await sink.add(chunk)
                        offset += len(chunk)
                        self.bytes += len(chunk)
                        self._progress()
                        if ctx.stopping:
                            await ctx.checkpoint()  # pause or cancel now; the .part file is kept for later
                    await sink.finish()
                finally:
                    await sink.settle()
        if total is not None and offset != total:
            raise TransientError(f"{url}: body ended at byte {offset} of {total}")
        digest = h.hexdigest()
        expected = str(ctx.params["sha256"].get(url) or "").strip().lower()
        if expected and expected != digest:
            await asyncio.to_thread(part.unlink)
            raise PermanentError(f"{url}: sha256 is {digest}, expected {expected}")
        await asyncio.to_thread(part.replace, final)
        return {
            "url": url, "file": name, "path": str(final), "bytes": offset, "sha256": digest, "resumed_bytes": resumed,
        }


async def download(ctx: Context) -> dict[str, Any]:
    """Download every URL not yet done, `workers` at a time, each resuming where it broke off."""
    p = ctx.params
    retry = Retry(retries=p["retries"], base_s=p["backoff"], cap_s=max(MAX_BACKOFF_S, p["backoff"]))
    httpx = _httpx()
    limits = httpx.Limits(max_connections=p["workers"], max_keepalive_connections=p["workers"])
    failed: dict[str, str] = {}
    fetched = 0
    async with httpx.AsyncClient(timeout=p["timeout"], follow_redirects=True, limits=limits) as client:
        fetcher = _Fetcher(ctx, client, len(await ctx.results("download")))
        async for o in ctx.items(p["urls"], fetcher.fetch, workers=p["workers"], retry=retry,
                                 allow_failures=p["allow_failures"]):
            fetcher.done += 1
            if o.ok:
                fetched += 1
                r = o.result
                extra = f", resumed at byte {r['resumed_bytes']}" if r["resumed_bytes"] else ""
                ctx.log(f"{r['file']}: {r['bytes']} bytes, sha256 {r['sha256'][:12]}…{extra}")
            else:
                failed[o.key] = o.error or "failed"
    return {"fetched": fetched, "received_bytes": fetcher.bytes, "failed": failed}


async def manifest(ctx: Context) -> dict[str, Any]:
    """Write manifest.json of the files and failures; with `dest`, put both there."""
    results = await ctx.results("download")
    files = [results[url] for url in dict.fromkeys(ctx.params["urls"]) if url in results]
    failed = ctx.outputs["download"]["failed"]
    dest = Path(ctx.params["dest"]) if ctx.params["dest"] else None
    if dest is not None:
        for f in files:
            f["dest_path"] = str(await asyncio.to_thread(_place, Path(f["path"]), dest))
    path = ctx.workspace / MANIFEST
    # The manifest leaves the store: no `user:password@` or `?token=` of a URL in it.
    shown = redact({"job_id": ctx.job_id, "files": files, "failed": failed})
    await asyncio.to_thread(_write_atomically, path, json.dumps(shown, indent=1) + "\n")
    if dest is not None:
        await asyncio.to_thread(_place, path, dest)
    size = sum(f["bytes"] for f in files)
    failures = f", {len(failed)} failed" if failed else ""
    ctx.log(f"{len(files)} file(s), {size} bytes{failures}" + (f"; in {dest}" if dest else ""))
    return {
        "files": len(files), "bytes": size, "failed": len(failed), "manifest": str(path),
        "dest": str(dest) if dest else None,
    }


fetch = JobType(
    "fetch",
    [download, manifest],
    params={
        "urls": Param(URLList, help='URLs to download, as a JSON list: urls=\'["https://…"]\''),
        "workers": Param(int, 4, "downloads at once", min=1),
        "timeout": Param(float, 30.0, "seconds a connect or a read may take", min=0.001),
        "retries": Param(int, 5, "retries of a URL after a transient error", min=0),
        "backoff": Param(float, 2.0, "seconds before the first retry (doubling, with jitter)", min=0),
        "dest": Param(Folder, "", "a folder to put the finished files in (default: the job workspace)"),
        "sha256": Param(dict, {}, "expected sha256 hex digests, as a JSON object {url: digest}"),
        "allow_failures": Param(Tolerance, "0", "URLs that may fail for good with the job still completing: N or P%"),
    },
    description="Durable downloads over a flaky link: resumes with Range, retries 429/5xx, checks sizes",
    timeout_s=24 * 3600,  # per run; big downloads over a slow link take hours, not days (submit --timeout)
)
