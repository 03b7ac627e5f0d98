"""Issue 18: a foreach stage makes one pool of lanes, however many of its first commands ask for it at once.

Each spawn that came while the stage's pool was being made (its lanes' rows committed) made a pool of its own: the
first 2 x workers items each got one, so they ran up to twice `workers` at once and the other pools' lanes (a
cgroup each) were never closed. Real runners, real processes.
"""

from __future__ import annotations

from pathlib import Path

from jobtui.client import Client
from jobtui.model import JobStatus
from tests.commands.helpers import spec
from tests.conftest import run_idle


def _most_at_once(log: Path) -> int:
    now = most = 0
    for line in log.read_text().splitlines():
        now += 1 if line.startswith("+") else -1
        most = max(most, now)
    return most


async def test_a_foreach_runs_at_most_workers_commands_at_once_from_its_first(client: Client, tmp_path: Path) -> None:
    log = tmp_path / "log"
    # sleep: commands must last long enough to overlap, so that too many at once would show
    script = f'echo "+ $1" >> {log}; sleep 0.3; echo "- $1" >> {log}'
    job = await client.submit("foreach", {"stages": [spec(["sh", "-c", script, "sh", "{}"], items=list("abcdef"),
                                                          workers=2)]})
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    assert len(log.read_text().splitlines()) == 12
    assert _most_at_once(log) == 2
