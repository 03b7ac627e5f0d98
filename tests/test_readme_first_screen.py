"""Issue 19, item 1: the README starts where a user starts. Its first screen fits 80 columns, its Quick start is
two commands, its three examples run as printed (a real runner, real files), its links lead somewhere."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

from jobtui.cli import build_parser
from tests.conftest import cli_env, jobtui

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"


def _section(title: str) -> str:
    m = re.search(rf"(?ms)^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README.read_text())
    assert m, title
    return m.group(1)


def _sh(title: str) -> list[str]:
    m = re.search(r"```sh\n(.*?)```", _section(title), re.S)
    assert m, title
    return [ln for ln in m.group(1).splitlines() if ln.strip() and not ln.startswith("#")]


def test_the_first_screen_fits_80_columns_and_the_readme_is_short() -> None:
    """Everything before the peers table is at most 80 columns wide; the whole README under 350 lines."""
    text = README.read_text()
    first = text[: text.index("## For pueue / task-spooler / parallel users")]
    wide = [ln for ln in first.splitlines() if len(ln) > 80]
    assert not wide, wide
    assert len(text.splitlines()) < 350
    assert "## Three ways in" in first and "## Quick start" in first


def test_the_quick_start_is_two_commands_the_demo_and_the_tests() -> None:
    """Exactly two commands: one runs the demo, one runs the tests (CI runs the second verbatim)."""
    lines = _sh("Quick start")
    assert len(lines) == 2, lines
    assert lines[0].endswith("jobtui demo") and lines[1].endswith("python -m pytest")
    assert "python -m pytest" in (ROOT / ".ci/run").read_text()


def test_the_three_examples_run_as_printed(tmp_path: Path) -> None:
    """The shell command, the per-file batch and the Python job type, queued as printed and run to completion."""
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos/a.jpg").write_bytes(b"jpeg")
    (tmp_path / "logs").mkdir()
    for name in ("a.log", "b.log"):
        (tmp_path / "logs" / name).write_text("line\n" * 100)
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans/one.pdf").write_bytes(b"%PDF")
    example = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
                   if b.startswith("# ocr_jobs.py"))
    stub = "\n\nasync def run_ocr(path, *, idempotency_key):  # the README's 'your code'\n    return 'text'\n"
    (tmp_path / "ocr_jobs.py").write_text(example + stub)
    db = tmp_path / "jobs.db"
    env = cli_env(db)
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    lines = _sh("Three ways in")
    assert len(lines) == 4 and [ln.split()[1] for ln in lines[:2]] == ["add", "foreach"], lines
    for line in lines:
        argv = shlex.split(line)
        assert argv[0] == "jobtui"
        if build_parser().parse_args(argv[1:]).command is None:
            continue  # the TUI: a runner and a screen; the runner below does the work
        r = subprocess.run([sys.executable, "-m", "jobtui", *argv[1:]], capture_output=True, text=True, cwd=tmp_path,
                           env=env, timeout=60)
        assert r.returncode == 0, (line, r.stderr)
    run = subprocess.run([sys.executable, "-m", "jobtui", "--app", "ocr_jobs", "run", "--exit-when-idle", "--quiet"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    ls = jobtui("ls", "--json", db=db).stdout
    assert ls.count('"status": "completed"') == 3, ls
    with tarfile.open(tmp_path / "photos.tgz") as tar:
        assert "photos/a.jpg" in tar.getnames()
    assert (tmp_path / "logs/a.log.gz").is_file() and (tmp_path / "logs/b.log.gz").is_file()


def test_every_local_link_of_the_readme_and_docs_leads_to_a_file() -> None:
    """Moving sections to docs/ broke no link: each relative link names a file that exists."""
    for page in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.exists(), f"{page.name}: {target}"
