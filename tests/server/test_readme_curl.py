"""Issue 22: the README's HTTP API lines (`jobtui token`, every `curl`) run as written against a real
`jobtui serve` on 127.0.0.1; each must succeed (curl -f: an HTTP error fails the line)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import cli_env, poll
from tests.server.conftest import Server, free_port

README = Path(__file__).parent.parent.parent / "docs" / "http.md"  # moved out of README.md (issue 19, item 1)
# curl fails on an HTTP error; a live stream (-N) is cut after 2 s (exit 28), which is what it should do.
CURL = ('curl() { local n=0; case " $* " in *" -sN "*) n=1;; esac; command curl -f --max-time $((n ? 2 : 20)) "$@"'
        ' || { r=$?; [ $n = 1 ] && [ $r = 28 ] || return $r; }; }; set -e; ')


def _blocks() -> list[str]:
    text = README.read_text()
    section = text[text.index("## HTTP API"):]
    end = section.find("\n## ", 5)
    section = section if end < 0 else section[:end]
    return [b for b in re.findall(r"```sh\n(.*?)```", section, re.S) if "curl" in b or "jobtui token" in b]


def _lines(block: str) -> list[str]:
    """Return a block's commands (continuations joined, comments and `jobtui serve` left out)."""
    joined = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in joined.splitlines():
        cmd = re.sub(r"\s+# .*$", "", line).strip()
        if cmd and not cmd.startswith("#") and not cmd.startswith("jobtui serve"):
            out.append(cmd)
    return out


@pytest.mark.slow  # a real server, a runner, a dozen curl processes
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_readme_http_api_lines_run_against_a_real_server(tmp_path: Path) -> None:
    db = str(tmp_path / "jobs.db")
    server = Server(db, free_port()).start()
    shell = tmp_path / "bin"
    shell.mkdir()
    # `jobtui` in the README is this jobtui on the test's database, with the test app (the `analyze` type).
    (shell / "jobtui").write_text(f"#!/bin/sh\nexec {sys.executable} -m jobtui --app apiapp \"$@\"\n")
    (shell / "jobtui").chmod(0o755)
    (tmp_path / "report.txt").write_text("alpha one two\nbeta three\n")
    env = cli_env(db, PATH=f"{shell}{os.pathsep}{os.environ['PATH']}")
    blocks = _blocks()
    assert len(blocks) >= 3 and sum(len(_lines(b)) for b in blocks) >= 12
    try:
        setup = [re.sub(r"127\.0\.0\.1:8765", f"127.0.0.1:{server.port}", c) for c in _lines(blocks[0])]
        ran = subprocess.run(["bash", "-c", CURL + "; ".join(setup) + '; printf "%s\\n%s\\n%s\\n" "$T" "$H" "$API"'],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert ran.returncode == 0, ran.stderr
        token, header, api = ran.stdout.splitlines()[-3:]
        assert token.startswith("jt_") and api == f"http://127.0.0.1:{server.port}/api/v1"
        env.update(T=token, H=header, API=api)
        for block in blocks[1:]:
            for cmd in _lines(block):
                name = re.match(r"([A-Z]+)=", cmd)
                # A line that sets a variable (A=...) holds for the lines after it, as in one shell.
                show = f'; printf %s "${name[1]}"' if name else ""
                out = subprocess.run(["bash", "-c", CURL + cmd + show], cwd=tmp_path, env=env,
                                     capture_output=True, text=True, timeout=60)
                if name:
                    env[name[1]] = out.stdout
                assert out.returncode == 0, f"{cmd}\n{out.stdout}\n{out.stderr}"
                if cmd.endswith("/pause"):
                    # "202 while it reaches a safe point; then paused": the next line resumes a paused job.
                    def paused() -> bool:
                        r = httpx.get(f"{api}/jobs/1", headers={"Authorization": f"Bearer {token}"})
                        return r.json()["status"] == "paused"

                    poll(paused, timeout=30)
        assert (tmp_path / "report-back.txt").read_text() == (tmp_path / "report.txt").read_text()
        assert any(tmp_path.glob("*.csv"))
    finally:
        code, err = server.stop()
    assert code == 0, err
