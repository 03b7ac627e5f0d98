"""Issue 6, item 4: a property test of the CLI's argument parsing and of `--from` files.

Hypothesis builds argv for every subcommand that ends by itself (ids, counts and times as huge,
negative, non-ASCII digits, nan; random text; nested JSON), `--from` JSONL files, pipeline TOML files (nan,
inf, 1e10, NUL, 6,000-deep) and `--lines` files (NUL, U+2028, /dev/zero), runs
`jobtui.cli.main(argv)` in this process against one real database file, and checks what is
promised: no traceback, an exit status in the promised set, one line on stderr on error, and the
database unchanged whenever the command failed.

JOBTUI_HYPOTHESIS_EXAMPLES=2000 runs a longer search (default 150, a few seconds).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jobtui.cli import main
from tests.conftest import dump

EXAMPLES = int(os.environ.get("JOBTUI_HYPOTHESIS_EXAMPLES", "150"))
STATUSES = ["queued", "running", "paused", "failed", "completed", "cancelled", "waiting_retry", "blocked"]

# ------------------------------------------------------------------------------------------ strategies
# Free text that is not an option (a leading '-' is argparse's business, and '-' alone would read stdin).
words = st.text(min_size=0, max_size=12).filter(lambda s: not s.startswith("-") and "\x00" not in s)
odd_numbers = st.sampled_from([
    "²", "٣", "٣٣", "１２", "1e3", "0x10", "1_000", "nan", "NaN", "inf", "-inf", "", " ", "+5", "-0", "007",
    "9" * 25, "9223372036854775807", "9223372036854775808", "-9223372036854775809", "9" * 5000, "1.5", "٠",
])
ints = st.one_of(st.integers(-(2**70), 2**70).map(str), odd_numbers, words)
ids = st.one_of(st.integers(1, 4).map(str), st.integers(-(2**66), 2**66).map(str), odd_numbers,
                words, st.integers(1, 4).map(lambda i: f"#{i}"))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), ints, odd_numbers)
durations = st.one_of(
    st.sampled_from(["1d", "5m", "1h30m", "90s", "250ms", "7w", "0s", "1.5h", "soon", "5", "d", "99999999999d"]),
    st.tuples(ints, st.sampled_from(["ms", "s", "m", "h", "d", "w", "x", ""])).map("".join),
)
times = st.one_of(
    st.sampled_from(["now", "+10m", "in 2h", "0001-01-01", "9999-12-31T23:59:59", "2026-12-01T09:00", "14:30",
                     "25:99", "1969-12-31", "2026-13-45", "+٣m", "in", "+"]),
    durations.map(lambda d: "+" + d),
    words,
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)
deep = st.integers(1, 3000).flatmap(lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n]))
param_json = st.one_of(
    st.dictionaries(st.sampled_from(["delay", "items", "seed", "fail_stage", "api_token", "nope", "_unique_key"]),
                    json_values, max_size=4).map(json.dumps),
    json_values.map(json.dumps), deep, words, st.sampled_from(['{"delay": NaN}', '{"items": Infinity}', "{", "[]"]),
)
kv = st.tuples(st.sampled_from(["delay", "items", "seed", "fail_stage", "api_token", "", "x"]), words).map("=".join)
status_lists = st.one_of(st.sampled_from(STATUSES), st.lists(st.sampled_from(STATUSES), max_size=3).map(",".join), words)
types = st.sampled_from(["demo", "fetch", "nope", ""])
# issue 14 item 12: sizes, cron expressions, pipeline files and --lines files as hostile as argv
sizes = st.one_of(st.sampled_from(["10M", "٣M", "1GiB", "99999999G", "9" * 5000, "1.5M", "-1", "0", "M"]),
                  st.tuples(ints, st.sampled_from(["", "k", "M", "G", "GiB", "x"])).map("".join))
crons = st.one_of(st.sampled_from(["0 3 * * *", "* * * * * *", "0 0 * * * * *", "٣ * * * *", "@daily", "", "61 * * * *",
                                   "*/5 * * * *"]), words)
toml_numbers = st.one_of(st.sampled_from(["nan", "inf", "-inf", "1e10", "1e300", "-1", "0", "2", "1.5", "9223372036854775807",
                                          '"10m"', '"nan"', '"٣m"', "true", "[]"]),
                         st.floats().map(repr))
pipelines = st.one_of(
    st.tuples(st.sampled_from(["timeout", "retries", "retry_base_s", "kill_grace_s", "workers"]), toml_numbers,
              st.sampled_from(['"true"', '["true", "x"]', '"tr\\u0000ue"', '["true", "a\\u0000"]'])).map(
        lambda t: f'name = "p"\n[[stage]]\nname = "s"\nrun = {t[2]}\n{t[0]} = {t[1]}\n'),
    st.integers(1, 6000).map(lambda n: "a = " + "[" * n + "]" * n + "\n"),
    words,
)
# issue 21 item 6: --notify-on
notify_events = st.one_of(st.sampled_from(["started", "progress,ended", "started,progress,retrying,ended", "", ",",
                                           "finished", "STARTED", "progress,", "٣"]), words)
# issue 21: labels as hostile as argv
label_texts = st.one_of(
    st.sampled_from(["project=42", "project", "=1", "k=", "k=a b", "a b=1", "٣=1", "token=x", "k=\x1b[31m", "k=" + "x" * 300,
                     "k=v=w", "K.x-y_z=ok"]),
    st.tuples(words, words).map("=".join),
)
lines_files = st.one_of(st.lists(st.text(max_size=8), max_size=4).map("\n".join),
                        st.sampled_from(["a\x00b\n", "a\x0cb\x85c\u2028d\r\n", ""]))

queue_names = st.one_of(st.sampled_from(["q1", "gpu", "Q.1_x-y", "", " ", "a b", "-x", "é", "q" * 65, "q" * 64, "q\x00",
                                         "..", "a/b", "none"]), words)
filters = st.one_of(
    st.sampled_from(["status:failed", "status:queued type:demo", "type:nope", "label:p=42", "label:=x", "queue:", "queue:q1",
                     "!queue:q1 status:paused", "status:bogus", "", " ", "s:", "#1", "!status:completed", "t:demo,fetch"]),
    st.lists(st.one_of(words, st.tuples(st.sampled_from(["status", "type", "label", "queue", "!status", "-type"]),
                                         words).map(":".join)), max_size=3).map(" ".join),
)
limits = st.one_of(ints, st.sampled_from(["none", "None", "0", "1", "1000000", "1000001"]))
rates = st.one_of(st.sampled_from(["5/10s", "3/2s", "0/1s", "1/0s", "٣/1s", "5/", "/1s", "5/٣s", "9999999/1s", "5/99999999999d",
                                   "none", "5", "5/1x", "1/1ms", "-1/1s", "5//1s"]),
                  st.tuples(ints, durations).map("/".join))


def opt(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """An option that is there (a quarter of the time: so that some commands get through) or not."""
    return st.one_of(st.just([]), st.just([]), st.just([]), values.map(lambda v: [name, v]))


def flag(name: str) -> st.SearchStrategy[list[str]]:
    return st.sampled_from([[], [name]])


def cat(*parts: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    return st.tuples(*parts).map(lambda xs: [a for x in xs for a in x])


def always(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return values.map(lambda v: [name, v])


good_params = st.fixed_dictionaries({}, optional={
    "delay": st.floats(0, 1), "items": st.integers(0, 3), "seed": st.integers(0, 9), "api_token": st.text(max_size=6),
    "_unique_key": st.one_of(st.text(max_size=6), json_values),
    "_labels": st.one_of(st.dictionaries(st.sampled_from(["project", "a b", "token", ""]), st.text(max_size=4), max_size=2),
                         json_values),
}).map(json.dumps)
from_lines = st.lists(st.one_of(good_params, good_params, param_json, st.just(""), words), min_size=0,
                      max_size=4).map("\n".join)

commands = st.one_of(
    cat(st.just(["submit"]), types.map(lambda t: [t]), st.lists(kv, max_size=2).map(lambda ps: [a for p in ps for a in ("-p", p)]),
        opt("--params-json", param_json), opt("--priority", ints), opt("--at", times), opt("--unique-key", words),
        opt("--max-retries", ints), opt("--after", ids),
        opt("--notify-url", st.one_of(words, st.sampled_from(["http://127.0.0.1:9/x", "ftp://x", "http://u:pw@h/?token=t",
                                                              "http://127.0.0.1:9/x\r\nX: y", "http://h/a b"]))),
        opt("--notify-cmd", words), opt("--label", label_texts), opt("--label", label_texts)),
    cat(st.just(["submit", "demo", "--from", "@FROM"]), opt("--unique-key", words), opt("--priority", ints),
        opt("--label", label_texts)),
    cat(st.just(["ls"]), opt("--status", status_lists), opt("--type", types), opt("--limit", ints), flag("--json"),
        opt("--label", label_texts), flag("--active")),
    cat(st.just(["show"]), ids.map(lambda i: [i]), flag("--json"), flag("--env")),
    # issue 19 item 7: ls --columns
    cat(st.just(["ls"]), always("--columns", st.one_of(words, st.sampled_from(
        ["id,status,command", "id,stauts", ",", "", "ID, Name", "labels,queue,retries", "٣", "id,id"]))), flag("--json")),
    cat(st.just(["logs"]), ids.map(lambda i: [i]), opt("-n", ints)),
    cat(st.sampled_from([["pause"], ["resume"], ["cancel"], ["retry"], ["delete"]]), st.lists(ids, min_size=1, max_size=3)),
    # wait always has a timeout: without one it rightly waits for a queued job forever.
    cat(st.just(["wait"]), st.lists(ids, min_size=1, max_size=2), always("--timeout", st.one_of(
        st.sampled_from(["0", "0.01", "nan", "inf", "-inf", "-1", "1e400", "1e10"]), odd_numbers,
        st.floats(max_value=0.05).map(repr)))),
    cat(st.just(["rewind"]), ids.map(lambda i: [i]),
        always("--to", st.one_of(st.sampled_from(["scraping", "2", "0"]), words, odd_numbers))),
    cat(st.just(["add"]), opt("--retries", ints), opt("--output-limit", sizes), opt("--priority", ints),
        opt("--max-retries", ints), opt("--timeout", durations), opt("--at", times),
        opt("--notify-url", st.one_of(words, st.sampled_from(["http://127.0.0.1:9/x", "ftp://x"]))),
        opt("--notify-cmd", words), opt("--label", label_texts), opt("--notify-on", notify_events),
        st.sampled_from([["--", "true"], ["--shell", "true"], ["--pipeline", "@PIPE"], ["--pipeline", "@PIPE"],
                         ["--", "no-such-program-jt"]])),
    cat(st.just(["foreach"]), st.sampled_from([["--args", "a", "b"], ["--lines", "@LINES"], ["--lines", "/dev/zero"]]),
        opt("--workers", ints), opt("--retries", ints),
        opt("--allow-failures", st.one_of(words, odd_numbers, st.sampled_from(["50%", "101%", "3", "-1", "1e3%", "²"]))),
        opt("--notify-url", st.one_of(words, st.sampled_from(["http://127.0.0.1:9/x", "ftp://x"]))),
        opt("--notify-cmd", words), opt("--at", times), opt("--label", label_texts), opt("--notify-on", notify_events),
        st.sampled_from([["--", "echo", "{}"], ["a", "b", "--", "echo"], ["--", "rm", "--", "{}"]])),
    cat(st.just(["schedule", "add", "s"]), always("--cron", crons), opt("--label", label_texts),
        st.sampled_from([["demo"], ["--", "true"]])),
    cat(st.just(["clean"]), always("--older-than", st.one_of(durations, st.sampled_from(["0", "now", "Now", "0.0"]))),
        opt("--status", status_lists)),
    cat(st.just(["export"]), ids.map(lambda i: [i]), opt("--format", st.sampled_from(["jsonl", "csv", "xml"])),
        opt("-o", st.sampled_from(["@DB", "@DB-wal", "@DB-shm"]))),
    cat(st.just(["depend"]), ids.map(lambda i: [i]), always("--after", ids)),
    # issue 21 item 1: queues and --queue everywhere a job is queued
    cat(st.just(["queue", "add"]), queue_names.map(lambda q: [q]), opt("--concurrency", limits),
        opt("--per-runner", limits), opt("--rate", rates), flag("--slots")),
    cat(st.just(["queue", "edit"]), queue_names.map(lambda q: [q]), opt("--concurrency", limits),
        opt("--per-runner", limits), opt("--rate", rates), st.sampled_from([[], ["--slots"], ["--no-slots"]])),
    cat(st.sampled_from([["queue", "show"], ["queue", "pause"], ["queue", "resume"], ["queue", "rm"]]),
        queue_names.map(lambda q: [q]), st.sampled_from([[], ["--now"], ["--json"]])),
    cat(st.just(["queue", "ls"]), flag("--json")),
    # issue 21 item 5: bulk actions by filter (never more than 20 at once here: no --yes, stdin is not a terminal)
    cat(st.sampled_from([["pause"], ["resume"], ["cancel"], ["retry"], ["delete"]]), always("--where", filters),
        flag("--dry-run"), st.sampled_from([[], [], ["1"]])),
    cat(st.just(["fail"]), always("--where", filters), always("--reason", words), flag("--dry-run")),
    cat(st.just(["submit", "demo"]), always("--queue", queue_names)),
    cat(st.just(["ls"]), always("--queue", queue_names), flag("--json")),
    cat(st.just(["add"]), always("--queue", queue_names), st.just(["--", "true"])),
    cat(st.just(["foreach", "--args", "a"]), always("--queue", queue_names), st.just(["--", "echo", "{}"])),
    cat(st.just(["schedule", "add", "s", "--every", "1h"]), always("--queue", queue_names), st.just(["demo"])),
    # issue 21 item 3: edit, every field as hostile as the others
    cat(st.just(["edit"]), ids.map(lambda i: [i]), st.lists(kv, max_size=2).map(lambda ps: [a for p in ps for a in ("-p", p)]),
        opt("--params-json", param_json), opt("--priority", ints), opt("--at", times), opt("--timeout", durations),
        opt("--max-retries", ints), opt("--needs", words), flag("--no-needs"), opt("--after", ids),
        opt("--label", label_texts), opt("--unlabel", st.one_of(words, st.sampled_from(["project", "a b", "٣"]))),
        opt("--queue", queue_names), flag("--no-queue")),
    # issue 21 item 4: templates, saved, shown, removed and submitted as hostile as the rest
    cat(st.just(["template", "save"]), st.one_of(st.sampled_from(["t", "a b", "٣", ""]), words).map(lambda n: [n]),
        st.sampled_from([["demo"], ["nope"], [], ["--from-job", "1"], ["--from-job", "٣"], ["demo", "--from-job", "2"]]),
        st.lists(kv, max_size=2).map(lambda ps: [a for p in ps for a in ("-p", p)]), opt("--priority", ints),
        opt("--timeout", durations), opt("--label", label_texts), opt("--queue", queue_names), flag("--replace")),
    cat(st.sampled_from([["template", "show"], ["template", "rm"]]),
        st.one_of(st.sampled_from(["t", "a b"]), words).map(lambda n: [n]), flag("--json")),
    cat(st.just(["template", "ls"]), flag("--json")),
    cat(st.just(["submit", "--template"]), st.one_of(st.sampled_from(["t", "a b"]), words).map(lambda n: [n]),
        st.lists(kv, max_size=2).map(lambda ps: [a for p in ps for a in ("-p", p)]), opt("--priority", ints)),
    cat(st.just(["schedule", "add", "s", "--every", "1h"]), st.sampled_from([["@t"], ["@"], ["@a b"], ["@nope"]])),
    cat(st.just(["stats"]), flag("--json")),
    # issue 19 item 5: service (only what writes nothing: install --print, status)
    cat(st.just(["service", "install", "--print"]), opt("--name", st.one_of(words, st.sampled_from(["a b", "٣", "x" * 65]))),
        opt("--manager", st.sampled_from(["systemd", "launchd", "upstart"])),
        st.lists(st.sampled_from(["--concurrency", "--grace", "--keep", "--lease-ttl", "--tag", "--name", "x", "nan",
                                  "-1", "٣", "2m", "--nope", "--db"]), max_size=4).map(lambda xs: ["--", *xs])),
    cat(st.just(["service", "status"]), opt("--name", words), opt("--manager", st.sampled_from(["systemd", "launchd"]))),
    # issue 19 item 6: runners stop (no runner here: a name is refused, --all finds none to stop)
    cat(st.just(["runners", "stop"]), st.lists(st.one_of(words, st.sampled_from(["box-a", "٣", "a b"])), max_size=2),
        flag("--all"), flag("--wait"), opt("--timeout", durations)),
    cat(st.just(["types"]), flag("--json")),
    # run and tui with one value that must be refused (a valid one would run jobs or open a terminal).
    cat(st.just(["run"]), st.sampled_from(["--concurrency", "--grace", "--lease-ttl"]).flatmap(
        lambda name: always(name, st.sampled_from(["nan", "inf", "-1", "9" * 25, "٣", "²", "-inf", "x", ""])))),
    cat(st.just(["tui"]), always("--concurrency", st.sampled_from(["0", "-1", "9" * 25, "٣", "nan", "1.5"]))),
)


# ---------------------------------------------------------------------------------------------- setup
@pytest.fixture(scope="module")
def world() -> Iterator[Path]:
    """A database with jobs in several states (ids 1-4) and a few items, in a folder of its own."""
    with tempfile.TemporaryDirectory(prefix="jobtui-props-") as d:
        db = Path(d) / "p.db"
        for _ in range(4):
            assert _run(["--db", str(db), "submit", "demo", "-p", "delay=0", "-p", "api_token=tok-secret-1"])[0] == 0
        con = sqlite3.connect(db)
        con.execute("UPDATE jobs SET status = 'completed' WHERE job_id = 1")
        con.execute("UPDATE jobs SET status = 'failed', failed_step = 'scraping' WHERE job_id = 2")
        con.execute("UPDATE jobs SET status = 'paused' WHERE job_id = 3")
        con.execute("INSERT INTO items (job_id, stage_index, key, status, result, updated_at_ms)"
                    " VALUES (1, 1, 'k1', 'done', '{\"n\": 1}', 1)")
        con.commit()
        con.close()
        yield db


def _run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old_stdin = os.sys.stdin  # type: ignore[attr-defined]
    os.sys.stdin = io.StringIO(stdin)  # type: ignore[attr-defined]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
                code: int | str | None = 0
            except SystemExit as e:
                code = e.code
    finally:
        os.sys.stdin = old_stdin  # type: ignore[attr-defined]
    return (code if isinstance(code, int) else 1 if code else 0), out.getvalue(), err.getvalue()


PROMISED = {0, 1, 2, 3}
"""0 ok; 1 an unusable database, or `wait`: a job did not complete; 2 bad input; 3 `wait` timed out."""


@pytest.mark.slow  # 150 argument lists through the CLI in-process: many CPU seconds
@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 150,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
@given(argv=commands, lines=from_lines, pipeline=pipelines, item_lines=lines_files)
def test_any_argv_keeps_the_promises(world: Path, argv: list[str], lines: str, pipeline: str, item_lines: str) -> None:
    db = world
    files = {"@FROM": db.parent / "jobs.jsonl", "@PIPE": db.parent / "p.toml", "@LINES": db.parent / "items.txt"}
    files["@FROM"].write_text(lines)
    files["@PIPE"].write_text(pipeline)
    files["@LINES"].write_text(item_lines)
    argv = [str(files[a]) if a in files else str(db) + a[3:] if a.startswith("@DB") else a for a in argv]
    before = dump(db)
    code, _out, err = _run(["--db", str(db), *argv])
    event(f"{argv[0]} exit {code}")
    assert "Traceback" not in err, err
    assert code in PROMISED, (argv, code, err)
    if code == 2 or (code == 1 and argv[0] != "wait"):
        lines_out = err.strip().splitlines()
        assert len(lines_out) == 1 and lines_out[0].startswith("jobtui: error: "), (argv, err[:500])
    if code == 3:
        assert len(err.strip().splitlines()) == 1, err
    if code != 0:
        assert dump(db) == before, argv
    assert not Path(f"{db}-journal").exists()


def test_the_world_stays_a_jobtui_database(world: Path) -> None:
    """After all of that, the file is still sound."""
    con = sqlite3.connect(world)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
