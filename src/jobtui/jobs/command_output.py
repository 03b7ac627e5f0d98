"""A command's output as the runner reads it: lines, marker lines, progress bars, and their limits.

Whatever a command prints, the reader lives on and drains its pipes (issue 14, item 4): a bad marker
is refused with one log line; an unexpected failure is kept (`Output.failure`) for the stage to end
cleanly, and the pipe is drained regardless so that the command can never block on a full pipe.

Limits: a line is at most MAX_LINE bytes (a longer one is logged in pieces; a longer *marker* line
is refused whole), a checkpoint's JSON nests at most `storable.MAX_JSON_DEPTH` levels and holds no
NaN or infinity, progress numbers are whole numbers from 0 to 2^63-1.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import deque
from typing import Any, NoReturn, Protocol

from jobtui import Context
from jobtui.storable import MAX_COUNT, MAX_JSON_DEPTH, UnstorableError, check_json

log = logging.getLogger("jobtui.command")

TAIL_LINES = 10
"""Lines of output kept for error messages and item results."""
MAX_LINE = 1 << 20
"""Bytes of one output line (a longer one is logged in pieces; a longer marker line is refused)."""
MARKER = "::jobtui "
_EOL = re.compile(rb"\r\n|\n|\r")
_TQDM = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,6})?)%\|")
_TQDM_COUNT = re.compile(r"\|\s*([0-9]{1,18})/([0-9]{1,18})")
_PROGRESS = re.compile(r"([0-9]{1,40})(?:/([0-9]{1,40}))?(?:\s+(.*))?", re.S)


class Readable(Protocol):
    """A command's stdout or stderr (asyncio's StreamReader, or the fork server's stream)."""

    async def read(self, n: int = -1) -> bytes: ...


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse_state(body: str) -> Any:
    """Return the state of a checkpoint marker's JSON.

    Raises:
        ValueError: not JSON, NaN or an infinity, nested too deep, or null.
    """
    try:
        state = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON: {e.msg}") from None
    if state is None:
        raise ValueError("null state")
    try:
        check_json(state)
    except UnstorableError as e:
        raise ValueError(str(e)) from None
    return state


def parse_progress(body: str) -> tuple[int, int | None, str | None]:
    """Return (done, total, message) of a progress marker.

    Raises:
        ValueError: not `DONE/TOTAL [message]` with whole numbers from 0 to 2^63-1.
    """
    m = _PROGRESS.fullmatch(body.strip())
    if m is None:
        raise ValueError("expected: ::jobtui progress DONE/TOTAL [message]")
    done, total = int(m.group(1)), int(m.group(2)) if m.group(2) else None
    if done > MAX_COUNT or (total is not None and total > MAX_COUNT):
        raise ValueError(f"progress numbers must be at most {MAX_COUNT}")
    message = (m.group(3) or "").strip()[:500]
    return done, total, message or None


class Output:
    """Reads a command's stdout and stderr: markers, progress bars, log lines, and the tails."""

    def __init__(self, ctx: Context, limit: int | None) -> None:
        self.ctx = ctx
        self.limit = limit
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.err_tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.failure: BaseException | None = None
        """What broke the reader (the stage ends on it); its pipes were drained regardless."""
        self.broken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done once a reader failed (a future, not an Event: waited on beside the exit without a task of its own)."""

    async def pump(self, stream: Readable | None, name: str) -> None:
        """Read one stream to its end; on any failure keep it, and drain the rest unread."""
        if stream is None:
            return
        try:
            await self._read(stream, name)
        except Exception as e:
            self.failure = self.failure or e
            if not self.broken.done():
                self.broken.set_result(None)
            log.warning("job %s: reading the command's %s failed: %s: %s", self.ctx.job_id, name,
                        type(e).__name__, str(e)[:200])
            try:
                while await stream.read(65536):
                    pass
            except Exception:  # pragma: no cover - the pipe itself broke: nothing left to drain
                pass

    async def _read(self, stream: Readable, name: str) -> None:
        buf = b""
        cont = False  # the current line continues an oversized one: never a marker
        skip = False  # the current line is an oversized marker: dropped to its end
        while chunk := await stream.read(65536):
            buf += chunk
            start = 0
            for m in _EOL.finditer(buf):
                if m.group() == b"\r" and m.end() == len(buf):
                    break  # maybe the first half of \r\n: wait for the next chunk
                if not skip:
                    await self.line(buf[start:m.start()].decode(errors="replace"), name,
                                    rewrite=m.group() == b"\r", cont=cont)
                cont = skip = False
                start = m.end()
            buf = buf[start:]
            if len(buf) > MAX_LINE:
                if skip:
                    pass
                elif not cont and name == "stdout" and buf.startswith(MARKER.encode()):
                    kind = buf[len(MARKER):len(MARKER) + 20].split(b" ", 1)[0].decode(errors="replace")
                    self.ctx.log(f"marker line ::jobtui {kind} over {MAX_LINE >> 20} MiB refused (a checkpoint's"
                                 " JSON must be smaller; keep large data in $JOBTUI_WORKSPACE)", "warning")
                    skip = True
                else:
                    await self.line(buf.decode(errors="replace"), name, rewrite=False, cont=cont)
                    cont = True
                buf = b""
        if buf and not skip:
            await self.line(buf.rstrip(b"\r").decode(errors="replace"), name, rewrite=False, cont=cont)

    async def line(self, text: str, stream: str, *, rewrite: bool, cont: bool = False) -> None:
        """Handle one line: a marker, a progress bar, or output to log."""
        ctx = self.ctx
        if stream == "stdout" and not cont and text.startswith(MARKER):
            await self.marker(text[len(MARKER):].strip())
            return
        bar = _TQDM.search(text)
        if bar is not None:
            count = _TQDM_COUNT.search(text, bar.end())
            if count is not None:
                ctx.progress(int(count.group(1)), int(count.group(2)) or None, text.strip()[:200])
            else:
                ctx.progress(round(float(bar.group(1))), 100, text.strip()[:200])
        if rewrite:
            if bar is None and text.strip():
                ctx.progress(0, None, text.strip()[:200])
            return  # a line rewritten in place (\r) is progress, not output
        (self.err_tail if stream == "stderr" else self.tail).append(text[:1000])
        ctx.output(text, stream, limit=self.limit)

    async def marker(self, body: str) -> None:
        """Act on a marker line (without its `::jobtui ` prefix); refuse a bad one with one log line."""
        ctx = self.ctx
        kind, _, rest = body.partition(" ")
        if kind == "progress":
            try:
                done, total, message = parse_progress(rest)
            except ValueError as e:
                ctx.log(f"bad progress marker ({e}): {body[:200]!r}", "warning")
                return
            ctx.progress(done, total, message)
        elif kind == "checkpoint":
            try:
                state = parse_state(rest)
            except ValueError as e:
                ctx.log(f"bad checkpoint marker ({e}): {rest[:200]!r}", "warning")
                return
            await ctx.checkpoint(state, safe_point=False)
        else:
            ctx.log(f"unknown marker ::jobtui {kind[:40]!r} (known: progress, checkpoint)", "warning")


__all__ = ["MAX_LINE", "TAIL_LINES", "Output", "parse_progress", "parse_state"]
