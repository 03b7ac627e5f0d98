"""Issue 14 item 11: a file named like an option stays a name (`foreach --glob` gives `./-delete`, not `-delete`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import jobtui

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _foreach(tmp_path: Path, db: Path, *args: str) -> int:
    r = jobtui("foreach", *args, db=db, cwd=tmp_path / "work")
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


def test_glob_file_named_delete_does_not_become_finds_option(tmp_path: Path) -> None:
    """`find {} -name '*.tmp' -delete` over `*` with a file named `-delete` deletes only *.tmp files."""
    work = tmp_path / "work"
    work.mkdir()
    keep = ["-delete", "a.txt", "b.dat", "-name", "--help"]
    for n in [*keep, "c.tmp"]:
        (work / n).write_text(n)
    db = tmp_path / "d.db"
    job = _foreach(tmp_path, db, "--glob", "*", "--", "find", "{}", "-name", "*.tmp", "-delete")
    r = jobtui("run", "--quiet", "--exit-when-idle", db=db, timeout=120)
    assert r.returncode == 0, r.stderr
    detail = json.loads(jobtui("show", str(job), "--json", db=db).stdout)
    assert detail["status"] == "completed", detail
    assert sorted(p.name for p in work.iterdir()) == sorted(keep), "only c.tmp was deleted"
    out = jobtui("export", str(job), "--format", "jsonl", db=db).stdout
    items = {json.loads(line)["key"] for line in out.splitlines()}
    assert {"./-delete", "./-name", "./--help", "a.txt", "c.tmp"} <= items


def test_glob_in_a_subfolder_and_absolute_glob_keep_their_names(tmp_path: Path) -> None:
    """Only a relative result that starts with '-' changes; `sub/-x` and absolute paths stay as they are."""
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "-x").write_text("x")
    (work / "-y").write_text("y")
    db = tmp_path / "d.db"
    rel = _foreach(tmp_path, db, "--glob", "**/-*", "--", "true", "{}")
    absolute = _foreach(tmp_path, db, "--glob", f"{work}/-*", "--", "true", "{}")
    rel_params = json.loads(jobtui("show", str(rel), "--json", db=db).stdout)["params"]["stages"][0]
    abs_params = json.loads(jobtui("show", str(absolute), "--json", db=db).stdout)["params"]["stages"][0]
    assert sorted(rel_params["items"]) == ["./-y", "sub/-x"]
    assert abs_params["items"] == [f"{work}/-y"]
