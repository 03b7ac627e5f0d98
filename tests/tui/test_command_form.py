"""The new-job form queues command jobs (command, pipeline file, foreach) exactly as the CLI builds them."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select

from jobtui.client import Client
from jobtui.jobs.command_params import build_add, build_foreach, command_args
from jobtui.tui.app import JobtuiApp
from jobtui.tui.screens import NewJobScreen

from .conftest import tui, wait_until


async def open_form(app: JobtuiApp, pilot: Pilot[Any], kind: str) -> NewJobScreen:
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(app.screen, NewJobScreen))
    form = app.screen
    assert isinstance(form, NewJobScreen)
    form.query_one("#type", Select).value = kind
    first = {"command": "run", "pipeline": "file", "foreach": "source"}[kind]
    await wait_until(pilot, lambda: first in form.command_fields, what=f"{kind} fields")
    await pilot.pause()
    return form


def fill(form: NewJobScreen, **values: str) -> None:
    for key, value in values.items():
        field = form.command_fields[key]
        assert isinstance(field, Input), key
        field.value = value


async def stored(client: Client, built: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Queue what the CLI's builder made (as `jobtui add`/`foreach` do) and return its stored type and params."""
    job = await client.job(await client.submit(*built))
    return job.type, job.params


def error_text(form: NewJobScreen) -> str:
    return str(form.query_one("#form-error").render())


async def submitted(app: JobtuiApp, pilot: Pilot[Any], client: Client) -> Any:
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: not isinstance(app.screen, NewJobScreen), what="form closed")
    jobs = await client.list_jobs()
    assert len(jobs) == 1
    return await client.job(jobs[0].job_id)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_command_typed_with_keys_is_the_job_add_builds(client: Client, monkeypatch: Any) -> None:
    monkeypatch.setenv("CMDFORM_TOKEN", "from-here")
    async with tui(client, size=(80, 24)) as (app, pilot):
        form = await open_form(app, pilot, "command")
        await pilot.press("tab")  # from the type to the command line: every Tab stop is a visible field
        assert app.focused is form.command_fields["run"]
        await pilot.press(*"printf", "space", *"'%s|'", "space", *"'a", "space", *"b'", "space", "c")
        fill(form, env="X=1 CMDFORM_TOKEN", timeout="10m", retries="2")
        form.query_one("#priority", Input).value = "5"
        job = await submitted(app, pilot, client)
    want_type, want = build_add(command_args(argv=["printf", "%s|", "a b", "c"], env=["X=1", "CMDFORM_TOKEN"],
                                             timeout="10m", retries=2))
    assert (job.type, job.params) == await stored(client, (want_type, want))
    assert want_type == "command"
    stage = job.params["stages"][0]
    assert stage["run"] == ["printf", "%s|", "a b", "c"] and stage["env"]["CMDFORM_TOKEN"] == "from-here"
    assert stage["cwd"] == str(Path.cwd()) and stage["timeout_s"] == 600 and stage["retries"] == 2
    assert job.priority == 5


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_shell_switch_queues_a_shell_line(client: Client, tmp_path: Path) -> None:
    async with tui(client, size=(80, 24)) as (app, pilot):
        form = await open_form(app, pilot, "command")
        fill(form, run="ls | wc -l > out.txt", cwd=str(tmp_path))
        shell = form.command_fields["shell"]
        assert isinstance(shell, Checkbox)
        shell.value = True
        job = await submitted(app, pilot, client)
        cli = await stored(client, build_add(command_args(shell="ls | wc -l > out.txt", cwd=str(tmp_path))))
    assert (job.type, job.params) == cli
    assert job.params["stages"][0]["run"] == "ls | wc -l > out.txt"


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_pipeline_file_is_read_by_the_cli_parser(client: Client, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[stage]]\nname = "a"\nrun = ["true"\n')
    good = tmp_path / "build.toml"
    good.write_text('name = "build"\n[[stage]]\nname = "fetch"\nrun = ["echo", "hi"]\ntimeout = "5m"\n'
                    '[[stage]]\nname = "pack"\nrun = "tar cf x.tar ."\nretries = 1\n')
    async with tui(client, size=(80, 24)) as (app, pilot):
        form = await open_form(app, pilot, "pipeline")
        fill(form, file=str(bad))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, NewJobScreen), "a bad file keeps the form open"
        message = error_text(form)
        assert "invalid TOML" in message and "\n" not in message
        assert await client.list_jobs() == []
        # Leaving the path field checks the file at once: the error goes when the path is right.
        fill(form, file=str(good))
        form.command_fields["file"].focus()
        await pilot.press("tab")
        await wait_until(pilot, lambda: error_text(form) == "", what="error cleared on blur")
        job = await submitted(app, pilot, client)
        cli = await stored(client, build_add(command_args(pipeline=str(good))))
    assert (job.type, job.params) == cli
    assert [s["name"] for s in job.params["stages"]] == ["fetch", "pack"] and job.params["name"] == "build"


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_foreach_glob_is_the_job_foreach_builds(client: Client, tmp_path: Path) -> None:
    for name in ("a.txt", "b c.txt", "$(touch y).txt", "skip.log"):
        (tmp_path / name).write_text("x")
    async with tui(client, size=(80, 24)) as (app, pilot):
        form = await open_form(app, pilot, "foreach")
        fill(form, items="*.txt", run="wc -c {} {stem}", cwd=str(tmp_path), workers="3")
        job = await submitted(app, pilot, client)
        want = build_foreach(command_args(glob="*.txt", argv=["wc", "-c", "{}", "{stem}"], cwd=str(tmp_path),
                                          workers=3))
        cli = await stored(client, want)
    assert (job.type, job.params) == cli
    assert sorted(job.params["stages"][0]["items"]) == ["$(touch y).txt", "a.txt", "b c.txt"]


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_foreach_args_and_lines_sources(client: Client, tmp_path: Path) -> None:
    lines = tmp_path / "hosts.txt"
    lines.write_text("alpha\n\nbeta\n")
    async with tui(client, size=(80, 24)) as (app, pilot):
        form = await open_form(app, pilot, "foreach")
        form.query_one("#cmd-source", Select).value = "lines"
        fill(form, items=str(lines), run="ping -c1 {}")
        await pilot.pause()
        await submitted(app, pilot, client)
        form = await open_form(app, pilot, "foreach")
        form.query_one("#cmd-source", Select).value = "args"
        fill(form, items="one 'two words'", run="echo {index} {}")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, NewJobScreen), what="form closed")
        jobs = sorted(await client.list_jobs(), key=lambda j: j.job_id)
        assert len(jobs) == 2
        first, second = [(await client.job(j.job_id)).params for j in jobs]
        assert first == (await stored(client, build_foreach(command_args(lines=str(lines),
                                                                         argv=shlex.split("ping -c1 {}")))))[1]
        assert second == (await stored(client, build_foreach(command_args(args=["one", "two words"],
                                                                          argv=["echo", "{index}", "{}"]))))[1]


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_bad_input_shows_one_line_and_creates_nothing(client: Client, tmp_path: Path) -> None:
    """Each bad value is refused in one line and the form stays open; one form per kind, its fields set back to
    what the form opened with before each case (a form per case cost a second of CPU each)."""
    cases: list[tuple[str, dict[str, str], str]] = [
        ("command", {"run": ""}, "empty command"),
        ("command", {"run": "echo 'unclosed"}, "command: No closing quotation"),
        ("command", {"run": "true", "timeout": "soon"}, "bad duration"),
        ("command", {"run": "true", "retries": "two"}, "retries must be a whole number"),
        ("command", {"run": "true", "cwd": str(tmp_path / "nope")}, "no such folder"),
        ("command", {"run": "true", "env": "1BAD=x"}, "bad --env"),
        ("pipeline", {"file": ""}, "pipeline file"),
        ("pipeline", {"file": str(tmp_path / "missing.toml")}, "no such file"),
        ("foreach", {"items": "*.none", "run": "echo {}", "cwd": str(tmp_path)}, "matches nothing"),
        ("foreach", {"items": "*", "run": "echo {nope}", "cwd": str(tmp_path)}, "nope"),
        ("foreach", {"items": "", "run": "echo {}"}, "no items"),
        ("foreach", {"items": "a", "run": "echo {}", "workers": "0"}, "workers"),
    ]
    (tmp_path / "f.txt").write_text("x")
    async with tui(client, size=(80, 24)) as (app, pilot):
        for kind in ("command", "pipeline", "foreach"):
            form = await open_form(app, pilot, kind)
            opened = {key: field.value for key, field in form.command_fields.items()}
            message = ""
            for case_kind, values, expected in cases:
                if case_kind != kind:
                    continue
                for key, value in opened.items():  # the form as it opened, then this case's values
                    form.command_fields[key].value = value
                if kind == "foreach" and values.get("items") == "a":
                    form.query_one("#cmd-source", Select).value = "args"
                await pilot.pause()
                fill(form, **values)
                await pilot.press("ctrl+s")
                await pilot.pause()
                assert app.screen is form, f"{kind} {values}: the form stays open"
                before, message = message, error_text(form)
                assert expected in message and "\n" not in message.strip(), (kind, values, message)
                assert message != before, f"{kind} {values}: a new message, not the last case's"
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, NewJobScreen), what="form closed")
    assert await client.list_jobs() == []
