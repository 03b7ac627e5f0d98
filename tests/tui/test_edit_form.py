"""Issue 21 item 3: `E` opens the new-job form filled with the selected job: save the edit in place (in the
job's history, by tui), or submit a copy; a refusal shows in the form and changes nothing. At 80x24."""

from __future__ import annotations

from textual.widgets import Input

from jobtui.client import Client
from jobtui.model import Action
from jobtui.tui.edit_form import EditJobScreen

from .conftest import select, tui, wait_until


async def test_edit_in_place_then_submit_a_copy(client: Client) -> None:
    job_id = await client.submit("demo", {"delay": 0.5, "items": 3}, priority=1)
    async with tui(client, size=(80, 24)) as (app, pilot):
        await select(app, pilot, job_id)
        await pilot.press("E")
        await wait_until(pilot, lambda: isinstance(app.screen, EditJobScreen), what="the edit form")
        form = app.screen
        assert isinstance(form, EditJobScreen)
        await wait_until(pilot, lambda: "items" in form.fields and form.fields["items"].value == "3", what="filled")
        assert form.query_one("#priority", Input).value == "1"
        form.fields["items"].value = "5"  # type: ignore[union-attr]
        form.query_one("#priority", Input).value = "7"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, EditJobScreen), what="the form closed")
        job = await client.job(job_id)
        assert (job.params["items"], job.priority) == (5, 7)
        [edit] = [h for h in await client.history(job_id) if h.action == "edit"]
        assert edit.source.startswith("tui") and edit.detail == "params items 3 → 5; priority 1 → 7"

        await pilot.press("E")
        await wait_until(pilot, lambda: isinstance(app.screen, EditJobScreen), what="the edit form again")
        form = app.screen
        assert isinstance(form, EditJobScreen)
        await wait_until(pilot, lambda: "items" in form.fields and form.fields["items"].value == "5", what="refilled")
        await pilot.press("ctrl+y")
        await wait_until(pilot, lambda: not isinstance(app.screen, EditJobScreen), what="the copy submitted")
        assert form.copied is not None and form.copied != job_id
        copy = await client.job(form.copied)
        assert (copy.type, copy.params["items"], copy.priority) == ("demo", 5, 7)


async def test_a_refused_edit_shows_in_the_form_and_changes_nothing(client: Client) -> None:
    job_id = await client.submit("demo", {"delay": 0.5, "items": 3})
    async with tui(client, size=(80, 24)) as (app, pilot):
        await select(app, pilot, job_id)
        await pilot.press("E")
        await wait_until(pilot, lambda: isinstance(app.screen, EditJobScreen), what="the edit form")
        form = app.screen
        assert isinstance(form, EditJobScreen)
        await wait_until(pilot, lambda: "items" in form.fields, what="filled")
        [claimed] = await client.store.claim("r1", 1, ["demo"])  # a runner takes it meanwhile
        assert claimed.job.job_id == job_id
        form.query_one("#priority", Input).value = "9"
        await pilot.press("ctrl+s")
        error = form.query_one("#form-error")
        await wait_until(pilot, lambda: "cannot edit: it is running" in str(error.render()), what="the refusal")
        assert isinstance(app.screen, EditJobScreen)
        assert (await client.job(job_id)).priority == 0
        await pilot.press("escape")
        await client.store.control(job_id, Action.CANCEL)
