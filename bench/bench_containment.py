"""What containing a command costs (issue 14, item 6): a cgroup per command, or the token's /proc scan.

    python bench/bench_containment.py            # 5 runs of each, 300 commands
    python bench/bench_containment.py --runs 7 --count 500

Each run starts `count` `true` processes one after another in its own session with piped output and
a preexec hook (as jobtui's, so fork rather than vfork), waits for each and reads it to EOF: `bare`
does only that (the baseline); `cgroup` also makes the
command's cgroup, joins it before exec, checks it joined and ends/removes it after (what
`Processes.spawn` and `end_stragglers` add); `token` puts the token in the environment and looks
for processes still carrying it after each exit (the scan of /proc used where no cgroup can be
made). Runs are interleaved (run 1 of each, then run 2, ...); figures are medians, in commands/s
and the cost per command against the bare baseline of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import time
import uuid
from collections.abc import Callable

from jobtui.engine.containment import Containment, cgroup_base

TRUE = shutil.which("true") or "/bin/true"


async def _one(contain: Containment | None) -> None:
    env = dict(os.environ) if contain is None else contain.env(None)
    # jobtui always runs a preexec hook (PR_SET_PDEATHSIG), so fork, not vfork: the baseline does too.
    preexec: Callable[[], None] = (lambda: None) if contain is None else contain.joiner()
    proc = await asyncio.create_subprocess_exec(
        TRUE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        env=env, start_new_session=True, preexec_fn=preexec)
    if contain is not None:
        contain = contain.joined(proc.pid)
    await proc.communicate()
    if contain is not None:
        await contain.end(1.0)


async def _run(kind: str, count: int) -> float:
    began = time.perf_counter()
    for _ in range(count):
        if kind == "bare":
            await _one(None)
        elif kind == "cgroup":
            await _one(Containment.new())
        else:
            await _one(Containment(uuid.uuid4().hex))  # the token alone, as without a cgroup
    return count / (time.perf_counter() - began)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--count", type=int, default=300)
    a = ap.parse_args()
    kinds = ["bare", "token"] + (["cgroup"] if cgroup_base() is not None else [])
    if "cgroup" not in kinds:
        print("no writable cgroup v2 here: measuring the token only")
    got: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(a.runs):
        for k in kinds:
            got[k].append(asyncio.run(_run(k, a.count)))
    base = statistics.median(got["bare"])
    for k in kinds:
        m = statistics.median(got[k])
        extra = "" if k == "bare" else f"   cost {1000 / m - 1000 / base:6.2f} ms per command"
        print(f"  {k:<7} {m:8.1f} commands/s{extra}")
    print(f"  runs: { {k: [round(x, 1) for x in v] for k, v in got.items()} }")


if __name__ == "__main__":
    main()
