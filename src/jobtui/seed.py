"""A fresh set of demo jobs that shows every state within a minute (for `jobtui demo`)."""

from __future__ import annotations

from .client import Client, Submission
from .model import JobId, now_ms


def demo_submissions(now: int | None = None) -> list[Submission]:
    """Return the demo jobs: quick and slow ones, retries, a failure, an auto-pause, a delayed one."""
    now = now_ms() if now is None else now
    d = "demo"
    return [
        Submission(d, {"delay": 0.5, "items": 10, "seed": 1}),
        Submission(d, {"delay": 1.5, "items": 40, "seed": 2}, priority=5),
        Submission(d, {"delay": 1.0, "items": 20, "fail_stage": "uploading", "fail_times": 2, "seed": 3}),
        Submission(d, {"delay": 1.0, "items": 30, "fail_stage": "extracting", "fail_kind": "permanent", "seed": 4}),
        Submission(d, {"delay": 1.0, "items": 30, "fail_items": 6, "seed": 5}),
        # 4 runs per try (the demo's stage retries) x 4 tries (max_retries=3): failed for good after
        # 16 runs, so `r` (resume) then completes it.
        Submission(d, {"delay": 0.5, "items": 10, "fail_stage": "scraping", "fail_times": 16, "seed": 6},
                   max_retries=3),
        Submission(d, {"delay": 3.0, "items": 100, "seed": 7, "api_token": "demo-secret-token"}),
        Submission(d, {"delay": 2.0, "items": 50, "seed": 8}),
        Submission(d, {"delay": 1.0, "items": 20, "seed": 9}, run_at_ms=now + 45_000),
        Submission(d, {"delay": 2.0, "items": 25, "seed": 10}),
        Submission(d, {"delay": 2.0, "items": 25, "seed": 11}),
        Submission(d, {"delay": 1.0, "items": 20, "seed": 12}),
    ]


async def seed_demo(client: Client) -> list[JobId]:
    """Queue the demo jobs; cancel one and pause one so that those states show at once."""
    ids = await client.submit_many(demo_submissions())
    await client.cancel(ids[-2])
    await client.pause(ids[-1])
    return ids
