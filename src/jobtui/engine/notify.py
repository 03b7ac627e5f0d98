"""Deliver the notification outbox: POST the job detail to a URL (httpx), or run a local command.

A runner runs one `Notifier` beside its jobs. It claims due outbox rows (store/notify.py), delivers
each in its own task, and records the outcome; a job never waits for it, and a delivery's failure
never touches the job. Each delivery makes a few quick tries (tenacity: exponential backoff with
jitter, transient errors only: connection errors, timeouts, HTTP 429/5xx); if they all fail, the row
is tried again later (backoff from 10 s up to an hour), up to `MAX_ROUNDS` times, then given up.

Bounds, whatever a receiver does (engine/webhook.py): one try of a URL has one wall-clock limit
and reads at most a few KiB of the reply (of a command's stderr, the last few KiB are kept); one delivery, its tries and their backoff included, has one
deadline (`DEADLINE_S`) well inside its claim (`LEASE_MS`), so no delivery outlives its claim and is
sent a second time beside itself. Slow receivers cannot hold every slot: URL deliveries have their own
slots (16) apart from commands' (4), and at most `PER_HOST` deliveries go to one receiver (host and
port) at once (the rest are handed back untried, due again a few seconds later).

Delivery is at-least-once: a runner killed after the receiver got the POST but before the "sent"
mark committed sends it again on relaunch. Every attempt of one event carries the same
`Idempotency-Key` header (and `notification_id` in the body), so a receiver can drop repeats.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from ..errors import JobNotFoundError, PermanentError, StoreError, TransientError
from ..model import JobDetail, Notification
from ..notify_on import OUTPUT_LINES
from ..outcome import tolerated
from ..redaction import Secrets, redact, redact_command
from ..store import NotifierStore
from ..targets import ENV_CMD, ENV_URL, check_url, defaults_from_env, targets
from .childenv import child_env
from .life_events import LifeEvents
from .retry import describe, is_transient
from .waiting import wait_set
from .webhook import REPLY_BYTES, host_of, post_bounded

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("jobtui.notify")

MAX_ROUNDS = 8
"""Rounds of tries before a delivery is given up (state 'failed')."""
LEASE_MS = 120_000
"""How long a claimed delivery is ours before another runner may take it."""
DEADLINE_S = 60.0
"""One delivery's whole time (every try and backoff): half the claim, so it never outlives it."""
PER_HOST = 2
"""Deliveries to one receiver (host:port) at once; more wait their turn (handed back untried)."""
DEFER_MS = 3000
"""How long a delivery handed back because its receiver is busy waits before it is due again."""
ROUND_GAP_S = 0.05
"""The least time between two rounds: a runner ending hundreds of jobs a second does not look once per end."""


def payload(n: Notification, detail: JobDetail, output: Sequence[str] = ()) -> dict[str, Any]:
    """Return the JSON body: the job detail (secrets redacted), with the event and the notification id; for a
    command job also its last exit code and the last lines of its output (`output`, redacted here)."""
    body = detail.to_dict()  # params redacted, errors already scrubbed when stored
    body.pop("notify", None)
    body.pop("notifications", None)
    extra: dict[str, Any] = {}
    if detail.processes:
        ended = [p for p in detail.processes if p.exit_code is not None]
        extra["exit_code"] = ended[-1].exit_code if ended else None
        secrets = Secrets.of(detail.job.params)
        extra["output"] = [str(redact(line, secrets)) for line in output]
    return {"event": n.event, "notification_id": n.notification_id, "tolerated": tolerated(detail), **extra, **body}


class CommandError(Exception):
    """A notify command exited non-zero or ran past its timeout."""

    transient = True


class DeliveryDeadlineError(TransientError):
    """A delivery, all its tries together, ran past its deadline (tried again in a later round)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """How a Notifier delivers: how many at once, how often it looks, how it tries again, how long it waits."""

    url_slots: int = 16
    """URL deliveries at once."""
    cmd_slots: int = 4
    """Command deliveries at once."""
    per_host: int = PER_HOST
    """URL deliveries at once to one host."""
    poll_s: float = 1.0
    """Seconds between looks for due notifications."""
    tries: int = 3
    """Tries of a delivery in one round."""
    base_s: float = 0.5
    """The first wait between tries (exponential, with jitter)."""
    http_timeout_s: float = 10.0
    command_timeout_s: float = 60.0
    deadline_s: float = dataclasses.field(default_factory=lambda: DEADLINE_S)
    """The longest one round of tries may take (shorter than the claim); the module's value when made."""
    lease_ms: int = dataclasses.field(default_factory=lambda: LEASE_MS)
    """How long a runner's claim on a due notification lasts; the module's value when made."""


class Notifier:
    """Claims due notifications of one database and delivers each in the background."""

    def __init__(self, store: NotifierStore, runner_id: str, delivery: Delivery | None = None) -> None:
        d = Delivery() if delivery is None else delivery
        if d.deadline_s * 1000 >= d.lease_ms:
            raise ValueError("a delivery's deadline must be shorter than its claim")
        self.store = store
        self.runner_id = runner_id
        self.options = d
        """How it delivers: slots, polling, tries, timeouts, deadline and claim."""
        self.slots = {"url": d.url_slots, "cmd": d.cmd_slots}
        """Deliveries of each kind at once."""
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._kind: dict[asyncio.Task[None], tuple[str, str | None]] = {}
        """Each delivery in flight: its kind and, for a URL, its host."""
        self._hosts: dict[str, int] = {}
        """Deliveries in flight per host."""
        self._writing: set[asyncio.Task[None] | None] = set()
        """Deliveries recording their outcome: never cancelled mid-transaction."""
        self.sent = 0
        """Deliveries that succeeded, for tests."""
        self._http: httpx.AsyncClient | None = None
        self._database_id: str | None = None
        """The database's identity, read once: the first part of every Idempotency-Key."""
        self.life = LifeEvents(store, runner_id)
        """The moments told beside a job's end (`--notify-on`), looked for at each round."""

    def wake(self) -> None:
        """Look for due notifications now (a job just ended)."""
        self._wake.set()

    def stop(self) -> None:
        """Make run() return: deliveries on the network are dropped (sent again later), none mid-write."""
        self._stopping = True
        self._wake.set()

    async def _settle(self) -> None:
        for t in list(self._tasks):
            if t not in self._writing:
                t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def run(self) -> None:
        """Deliver until stop().

        Never cancel this task: it may be inside a store transaction. Call stop() and await it.
        """
        loop = asyncio.get_running_loop()
        try:
            while not self._stopping:
                timeout = self.options.poll_s
                began = loop.time()
                try:
                    timeout = await self._round()
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # a busy database: try again at the next poll
                    log.warning("notifications: %s", e)
                await wait_set(self._wake, timeout)
                # Woken at every job's end: gather the ends of a busy runner into one round per ROUND_GAP_S.
                gap = ROUND_GAP_S - (loop.time() - began)
                if gap > 0 and not self._stopping:
                    await asyncio.sleep(gap)  # sleep: the pause between two rounds is the point
                self._wake.clear()
        finally:
            await self._settle()
            if self._http is not None:
                await self._http.aclose()
                self._http = None

    def _client(self) -> httpx.AsyncClient:
        """Return the HTTP client, made at the first URL delivery.

        Making one loads the system's CA certificates (tens of ms): a runner that never posts a
        notification, like most, does not pay for it at start and exit.
        """
        if self._http is None:
            import httpx  # here, not at the top: most runners never post, and the import costs ~25 ms

            self._http = httpx.AsyncClient(timeout=self.options.http_timeout_s, follow_redirects=False,
                                           headers={"User-Agent": "jobtui"})
        return self._http

    async def flush(self, timeout_s: float = 30.0) -> None:
        """Return once nothing is due now or in flight (bounded): before a runner that is idle exits."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        try:
            # The moments since the last round first: a job that started and ended between two rounds (or before
            # the first) has its `started` queued here, or the idle runner exits without telling it.
            await self.life.look()
        except StoreError as e:
            log.warning("notifications: looking for started/progress/retrying: %s", e)
        while loop.time() < end and not self._stopping:
            due = await self.store.next_notification_ms()
            if not self._tasks and (due is None or due > self.store.clock()):
                return
            self._wake.set()
            await asyncio.sleep(0.05)

    async def _round(self) -> float:
        """Queue the moments `--notify-on` asks for, claim and start due deliveries; return how long to sleep."""
        try:
            await self.life.look()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a busy database: look again next round; deliveries go on meanwhile
            log.warning("notifications: looking for started/progress/retrying: %s", e)
        due = await self.store.next_notification_ms()
        now = self.store.clock()
        if due is None:
            return self.options.poll_s
        if due <= now:
            for kind, slots in self.slots.items():
                await self._claim(kind, slots)
        return max(0.05, min(self.options.poll_s, (due - now) / 1000)) if due > now else self.options.poll_s

    async def _claim(self, kind: str, slots: int) -> None:
        """Start due deliveries of one kind in its free slots; hand back those whose host is busy."""
        for _ in range(50):  # bounded: each turn hands back or starts at least one delivery
            free = slots - sum(1 for k, _h in self._kind.values() if k == kind)
            if free <= 0:
                return
            claimed = await self.store.claim_notifications(self.runner_id, free, self.options.lease_ms, (kind,))
            busy = [n.notification_id for n in claimed if not self._start(n)]
            if not busy:
                return
            await self.store.defer_notifications(busy, self.runner_id, self.store.clock() + DEFER_MS)

    def _start(self, n: Notification) -> bool:
        """Start delivering `n`, unless its host already has `per_host` deliveries in flight."""
        host = host_of(n.target) if n.kind == "url" else None
        if host is not None and self._hosts.get(host, 0) >= self.options.per_host:
            return False
        if host is not None:
            self._hosts[host] = self._hosts.get(host, 0) + 1
        task = asyncio.create_task(self._deliver(n), name=f"jobtui-notify-{n.notification_id}")
        self._tasks.add(task)
        self._kind[task] = (n.kind, host)
        task.add_done_callback(self._done)
        return True

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._writing.discard(task)
        _kind, host = self._kind.pop(task, ("", None))
        if host is not None:
            left = self._hosts.get(host, 1) - 1
            if left > 0:
                self._hosts[host] = left
            else:
                self._hosts.pop(host, None)
        self._wake.set()

    async def _deliver(self, n: Notification) -> None:
        made = 0
        try:
            try:
                detail = await self.store.get_detail(n.job_id)
            except JobNotFoundError:
                raise PermanentError(f"job {n.job_id} was deleted") from None
            output = [line.message for line in await self.store.logs(n.job_id, tail=True, limit=OUTPUT_LINES * 5)
                      if line.level in ("stdout", "stderr")][-OUTPUT_LINES:] if detail.processes else []
            loop = asyncio.get_running_loop()
            end = loop.time() + self.options.deadline_s
            try:
                async with asyncio.timeout_at(end):
                    async for attempt in AsyncRetrying(
                        stop=stop_after_attempt(self.options.tries),
                        wait=wait_exponential_jitter(multiplier=self.options.base_s, max=self.options.base_s * 8,
                                                     jitter=self.options.base_s / 2),
                        retry=retry_if_exception(is_transient),
                        reraise=True,
                    ):
                        with attempt:
                            made += 1
                            if n.kind == "url":
                                await self._post(n, detail, output)
                            else:
                                await self._command(n, detail, output)
            except TimeoutError:
                if loop.time() < end:
                    raise  # a try's own limit, not the deadline
                raise DeliveryDeadlineError(f"not delivered within {self.options.deadline_s:g}s") from None
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._writing.add(asyncio.current_task())
            text = redact_command(describe(e))
            rounds = (n.attempts + made + self.options.tries - 1) // self.options.tries
            retry_at: int | None = None
            if is_transient(e) and rounds < MAX_ROUNDS:
                retry_at = self.store.clock() + int(min(3600.0, 10.0 * 3 ** (rounds - 1)) * 1000)
            log.warning("notification %s (job %s %s → %s %s) failed: %s%s", n.notification_id, n.job_id, n.event,
                        n.kind, redact_command(n.target), text, "" if retry_at else "; giving up")
            try:
                await self.store.notification_failed(n.notification_id, self.runner_id, max(made, 1), text, retry_at)
            except Exception as e2:
                log.warning("notification %s: cannot record failure: %s", n.notification_id, e2)
            return
        self._writing.add(asyncio.current_task())
        try:
            await self.store.notification_sent(n.notification_id, self.runner_id, made)
            self.sent += 1
        except Exception as e:
            log.warning("notification %s: sent, but cannot record it: %s", n.notification_id, e)

    async def _key(self, n: Notification) -> str:
        """Return the notification's Idempotency-Key: the database's identity and its number (unique across databases)."""
        if self._database_id is None:
            self._database_id = await self.store.database_id()
        return f"jobtui-{self._database_id}-{n.notification_id}"

    async def _post(self, n: Notification, detail: JobDetail, output: Sequence[str]) -> None:
        await post_bounded(
            self._client(), n.target, json.dumps(payload(n, detail, output)),
            {"Content-Type": "application/json", "Idempotency-Key": await self._key(n),
             "X-Jobtui-Event": n.event},
            self.options.http_timeout_s,
        )

    async def _command(self, n: Notification, detail: JobDetail, output: Sequence[str]) -> None:
        env = child_env()
        env.update(JOBTUI_JOB_ID=str(n.job_id), JOBTUI_STATUS=detail.job.status.value, JOBTUI_EVENT=n.event,
                   JOBTUI_TYPE=detail.job.type, JOBTUI_NOTIFICATION_ID=str(n.notification_id),
                   JOBTUI_TOLERATED=tolerated(detail) or "")
        proc = await asyncio.create_subprocess_shell(
            n.target, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True,
        )
        try:
            err = await asyncio.wait_for(_talk(proc, json.dumps(payload(n, detail, output)).encode()),
                                         self.options.command_timeout_s)
        except BaseException:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await proc.wait()
            raise
        if proc.returncode != 0:
            tail = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
            raise CommandError(f"exit {proc.returncode}" + (f": {tail[0][:200]}" if tail else ""))


async def _talk(proc: asyncio.subprocess.Process, data: bytes) -> bytes:
    """Write `data` to a command's stdin; return the last REPLY_BYTES of its stderr once it exits.

    Like `communicate()`, but a command that prints without end costs a few KiB, not all it printed.
    """
    assert proc.stdin is not None and proc.stderr is not None
    stdin = proc.stdin

    async def feed() -> None:
        try:
            stdin.write(data)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # it did not read its input: its exit status says how it went
        finally:
            stdin.close()

    feeder = asyncio.ensure_future(feed())
    try:
        tail = b""
        while chunk := await proc.stderr.read(65536):
            tail = (tail + chunk)[-REPLY_BYTES:]
        await feeder
        await proc.wait()
        return tail
    finally:
        feeder.cancel()


__all__ = ["ENV_CMD", "ENV_URL", "Delivery", "Notifier", "check_url", "defaults_from_env", "targets"]
