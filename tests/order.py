"""Start the longest tests first, one at the head of each xdist worker's share (issue 20: the suite's time).

`--dist worksteal` hands each worker a contiguous share of the collection, then moves tests from the tail of the
longest queue to a worker that runs dry. A test of a minute that happens to sit near the end of a share starts
late and the whole run waits for it; one at the head of a share runs while the others work through the short
ones. The list names the tests that took 30 s or more of a loaded run (`--durations`); a name that no longer
matches anything only loses its place (tests/test_order.py checks that each still does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

LONG_POLES = (
    "tests/server/test_openapi_properties.py::test_every_operation_keeps_its_promises",
    "tests/server/test_web_memory.py::test_memory_stays_bounded_over_a_long_run_of_updates",
    "tests/faults/test_chaos.py::test_sigkill_chaos_with_control_from_another_process",
    "tests/pg/test_chaos_pg.py::test_four_runners_and_sigkills_on_postgresql",
    "tests/pg/test_frozen_in_transaction.py::test_three_runners_claim_and_commit_while_one_is_frozen_in_a_transaction",
    "tests/test_cli_properties.py::test_any_argv_keeps_the_promises",
    "tests/pg/test_pg_cli.py::test_add_ls_show_run_logs_on_postgres",
    "tests/pg/test_fleet_pg.py::test_needs_and_tags_route_jobs_on_postgres",
    "tests/server/test_api_pg.py::test_two_servers_one_postgres_database",
    "tests/tui/test_embedded_lease.py::test_embedded_runner_keeps_its_lease_while_the_ui_is_busy",
    "tests/server/test_sse.py::test_events_resume_after_sigkill_without_loss_or_repeat",
    "tests/server/test_web_page.py::test_the_page_reconnects_and_shows_what_it_missed",
    "tests/server/test_readme_curl.py::test_the_readme_http_api_lines_run_against_a_real_server",
)
"""Longest first: a nodeid, or its start (all the parameters of a test)."""


class Item(Protocol):
    nodeid: str


T = TypeVar("T", bound=Item)


def rank(nodeid: str) -> int | None:
    """Return a test's place in LONG_POLES (None: not a long pole)."""
    for i, pole in enumerate(LONG_POLES):
        if nodeid == pole or nodeid.startswith(pole + "["):
            return i
    return None


def shares(total: int, workers: int) -> list[int]:
    """Return the sizes of the contiguous shares worksteal first hands out: each idle worker, in turn, gets the
    tests left divided by the workers left (xdist's WorkStealingScheduling.check_schedule)."""
    sizes, left = [], total
    for i in range(workers):
        sizes.append(left // (workers - i))
        left -= sizes[-1]
    return sizes


def long_first(items: Sequence[T], workers: int) -> list[T]:
    """Return `items` reordered so that the long poles, longest first, head the workers' shares in turn."""
    poles = sorted((t for t in items if rank(t.nodeid) is not None), key=lambda t: rank(t.nodeid) or 0)
    if not poles or workers < 1:
        return list(items)
    rest = [t for t in items if rank(t.nodeid) is None]
    heads: list[list[T]] = [[] for _ in range(workers)]
    for i, t in enumerate(poles):
        heads[i % workers].append(t)
    out: list[T] = []
    for head, size in zip(heads, shares(len(items), workers), strict=True):
        take = max(0, size - len(head))
        out += head + rest[:take]
        rest = rest[take:]
    return out + rest
