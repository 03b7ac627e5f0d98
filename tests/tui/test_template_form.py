"""Issue 21 items 1, 2 and 4 in the TUI: `n` offers the saved templates; choosing one fills the form (type, params,
priority, labels, queue), the fields stay editable, and the job is queued as `submit --template` queues it (options,
labels merged). Labels and a queue are offered for every new job, as `--label` and `--queue`. At 80x24."""

from __future__ import annotations

from textual.widgets import Input, Select

from jobtui.client import Client
from jobtui.model import QueueLimits
from jobtui.tui.template_form import TemplateJobScreen

from .conftest import tui, wait_until


async def test_a_template_fills_the_form_and_its_options_come_with_the_job(client: Client) -> None:
    await client.add_queue("night", QueueLimits())
    await client.save_template("nightly", "demo", {"delay": 0, "items": 3, "seed": 9}, priority=7, labels={"team": "ml"},
                               queue="night", max_retries=2)
    async with tui(client, size=(80, 24)) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, TemplateJobScreen), what="the new-job form")
        form = app.screen
        assert isinstance(form, TemplateJobScreen)
        await wait_until(pilot, lambda: bool(form.query("#template")) and form.query_one("#template").has_focus,
                         what="the template choice, focused")
        choice = form.query_one("#template", Select)
        assert choice.region.bottom <= 24 and choice.region.right <= 80, choice.region  # on screen at 80x24
        choice.value = "nightly"
        await wait_until(pilot, lambda: "items" in form.fields and form.fields["items"].value == "3", what="filled")
        assert form.fields["seed"].value == "9"
        assert form.query_one("#priority", Input).value == "7"
        assert form.query_one("#type", Select).value == "demo" and form.query_one("#type", Select).disabled
        assert "template nightly: demo · max retries 2" in str(form.query_one("#type-help").render())
        assert form.query_one("#labels", Input).value == "team=ml"
        assert form.query_one("#queue", Select).value == "night"
        form.fields["items"].value = "1"  # type: ignore[union-attr]  # a param overridden in the form
        form.query_one("#labels", Input).value = "team=ml run=7"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, TemplateJobScreen), what="the form closed")
        await wait_until(pilot, lambda: any("queued" in t for t in app.toasts), what="the new job selected and told")
    [job] = await client.list_jobs()
    d = await client.detail(job.job_id)
    assert (job.type, job.params["items"], job.params["seed"], job.priority, job.queue, job.max_retries) == (
        "demo", 1, 9, 7, "night", 2)
    assert dict(d.labels) == {"team": "ml", "run": "7"}


async def test_none_gives_the_plain_form_back_and_without_templates_there_is_no_choice(client: Client) -> None:
    async with tui(client, size=(80, 24)) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, TemplateJobScreen) and "items" in app.screen.fields,
                         what="the new-job form")
        assert not app.screen.query("#template")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, TemplateJobScreen), what="the form closed")
    await client.save_template("t", "demo", {"delay": 0, "items": 4}, priority=3)
    async with tui(client, size=(80, 24)) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, TemplateJobScreen) and bool(app.screen.query("#template")),
                         what="the template choice")
        form = app.screen
        assert isinstance(form, TemplateJobScreen)
        form.query_one("#template", Select).value = "t"
        await wait_until(pilot, lambda: form.template is not None and form.fields["items"].value == "4", what="filled")
        form.query_one("#template", Select).value = ""
        await wait_until(pilot, lambda: form.template is None and not form.query_one("#type", Select).disabled,
                         what="the plain form back")
        form.query_one("#priority", Input).value = "0"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, TemplateJobScreen), what="the form closed")
        await wait_until(pilot, lambda: any("queued" in t for t in app.toasts), what="the new job selected and told")
    [job] = await client.list_jobs()
    assert (job.params["items"], job.priority) == (20, 0)  # the type's default, not the template's 4 and 3


async def test_labels_and_a_queue_for_any_new_job_and_a_bad_label_is_shown(client: Client) -> None:
    await client.add_queue("gpu", QueueLimits(concurrency=1))
    async with tui(client, size=(80, 24)) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, TemplateJobScreen) and bool(app.screen.query("#queue")),
                         what="the form with its queue choice")
        form = app.screen
        assert isinstance(form, TemplateJobScreen)
        assert not form.query("#template")  # no templates saved: no choice
        labels, queue = form.query_one("#labels", Input), form.query_one("#queue", Select)
        for widget in (labels, queue):
            form.query_one("#form-body").scroll_to_widget(widget, animate=False)
            await wait_until(pilot, lambda w=widget: w.region.bottom <= 24 and w.region.height > 0, what="on screen")
        labels.value = "project=42 bad label"
        queue.value = "gpu"
        await pilot.press("ctrl+s")
        error = form.query_one("#form-error")
        await wait_until(pilot, lambda: "bad label 'bad'" in str(error.render()), what="the refusal in the form")
        assert await client.list_jobs() == []
        labels.value = "project=42 team=ocr"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, TemplateJobScreen), what="the form closed")
        await wait_until(pilot, lambda: any("queued" in t for t in app.toasts), what="the new job selected and told")
    [job] = await client.list_jobs()
    assert (job.type, job.queue) == ("demo", "gpu")
    assert dict((await client.detail(job.job_id)).labels) == {"project": "42", "team": "ocr"}
