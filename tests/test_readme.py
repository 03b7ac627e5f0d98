"""Issue 8: the README's code runs. Its job-type example is executed as a module (with a stub for the
user's `run_ocr`) and its job is run to completion on a real database, so a broken example fails CI."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

from jobtui import Runner
from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.model import JobStatus
from jobtui.store import Store

README = Path(__file__).parent.parent / "README.md"


def python_blocks() -> list[str]:
    """Return the python blocks of the README and of docs/ (the deep reference moved there, issue 19)."""
    texts = [README.read_text(), *(p.read_text() for p in sorted((README.parent / "docs").glob("*.md")))]
    return [b for text in texts for b in re.findall(r"```python\n(.*?)```", text, re.DOTALL)]


def test_every_python_block_of_the_readme_compiles() -> None:
    blocks = python_blocks()
    assert blocks
    for i, code in enumerate(blocks):
        compile(code, f"README.md python block {i + 1}", "exec")


def load_example(tmp_path: Path) -> Any:
    """Load the README's `ocr_jobs.py` as a module (as `--app ocr_jobs` would)."""
    example = next(b for b in python_blocks() if b.startswith("# ocr_jobs.py"))
    path = tmp_path / "ocr_jobs.py"
    path.write_text(example)
    spec = importlib.util.spec_from_file_location("ocr_jobs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ocr_jobs"] = module
    spec.loader.exec_module(module)
    return module


async def test_the_readme_job_type_example_runs(tmp_path: Path) -> None:
    """Issue 15, item 1: one blank scan of four (25%, over the example's 10%) fails the job; resume runs only it."""
    try:
        module = load_example(tmp_path)
        seen: list[tuple[str, str]] = []
        blank = {"blank.pdf"}

        async def run_ocr(pdf: str, *, idempotency_key: str) -> str:
            seen.append((pdf, idempotency_key))
            await asyncio.sleep(0)  # sleep: yield to the event loop once
            return "" if Path(pdf).name in blank else "some text"

        module.run_ocr = run_ocr  # "your code" in the README
        scans = tmp_path / "scans"
        scans.mkdir()
        for name in ("a.pdf", "b.pdf", "c.pdf", "blank.pdf", "notes.txt"):
            (scans / name).write_text("x")
        registry = default_registry()
        registry.add(module.ocr_pdfs)
        store = await Store.open(tmp_path / "r.db")
        try:
            client = Client(store, registry)
            job_id = await client.submit("ocr_pdfs", {"folder": str(scans)})
            await asyncio.wait_for(Runner(store, registry).run(exit_when_idle=True), 60)
            d = await client.detail(job_id)
            assert d.job.status is JobStatus.FAILED, "a failed file must not read as a success"
            assert "1 of 4 items failed" in (d.job.error_message or "") and "blank.pdf: no text" in (
                d.job.error_message or "")
            assert len({key for _, key in seen}) == 4, "one idempotency key per item"

            blank.clear()  # the scan was fixed
            seen.clear()
            await client.resume(job_id)
            await asyncio.wait_for(Runner(store, registry).run(exit_when_idle=True), 60)
            d = await client.detail(job_id)
            assert d.job.status is JobStatus.COMPLETED, (d.job.error_message, [s.traceback for s in d.stages])
            assert [Path(pdf).name for pdf, _ in seen] == ["blank.pdf"], "done files are never run again"
            outputs: dict[str, Any] = {s.name: s.output for s in d.stages}
            assert len(outputs["list_files"]) == 4
            assert outputs["ocr"] == {"pages": 4}, "replay=True: the total covers the files done before"
            assert outputs["summarise"] == "ok"
        finally:
            await store.close()
    finally:
        sys.modules.pop("ocr_jobs", None)


async def test_the_readme_example_copied_without_run_ocr_fails(tmp_path: Path) -> None:
    """Issue 15, item 1: copied as is, every item is a NameError; the job ended `completed`."""
    try:
        module = load_example(tmp_path)
        scans = tmp_path / "scans"
        scans.mkdir()
        for name in ("a.pdf", "b.pdf"):
            (scans / name).write_text("x")
        registry = default_registry()
        registry.add(module.ocr_pdfs)
        store = await Store.open(tmp_path / "r.db")
        try:
            client = Client(store, registry)
            job_id = await client.submit("ocr_pdfs", {"folder": str(scans)})
            await asyncio.wait_for(Runner(store, registry).run(exit_when_idle=True), 60)
            job = await client.job(job_id)
            assert job.status is JobStatus.FAILED
            assert "2 of 2 items failed" in (job.error_message or "") and "NameError" in (job.error_message or "")
        finally:
            await store.close()
    finally:
        sys.modules.pop("ocr_jobs", None)
