"""`jobtui serve` and `jobtui token` refusals and listings, and the server package's layering (issue 22)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import jobtui
from jobtui.cli import main as cli_main
from tests.conftest import jobtui as run_cli


def test_serve_without_the_extra_says_which_pip_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import jobtui.cli.serve as serve_cli

    real = serve_cli.importlib.util.find_spec
    monkeypatch.setattr(serve_cli.importlib.util, "find_spec", lambda name, *a: None if name == "fastapi" else real(name, *a))
    with pytest.raises(SystemExit) as e:
        cli_main(["--db", str(tmp_path / "j.db"), "serve", "--port", "1"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err == "jobtui: error: `jobtui serve` needs the server extra: pip install 'jobtui[server]'\n"


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_serve_refuses_plain_http_beyond_loopback(tmp_path: Path) -> None:
    out = run_cli("serve", "--host", "0.0.0.0", "--port", "1", db=tmp_path / "j.db")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "--insecure-http" in out.stderr and "Traceback" not in out.stderr
    out = run_cli("serve", "--certfile", "x.pem", db=tmp_path / "j.db")
    assert out.returncode == 2 and "--certfile and --keyfile go together" in out.stderr


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_token_add_ls_rm(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    made = run_cli("token", "add", "ci", "--scope", "submit", db=db)
    assert made.returncode == 0 and made.stdout.startswith("jt_") and made.stdout.count("\n") == 1
    listed = run_cli("token", "ls", "--json", db=db)
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["scope"], r["last_used_at"]) for r in rows] == [("ci", "submit", None)]
    assert made.stdout.strip() not in listed.stdout and made.stdout.strip() not in run_cli("token", "ls", db=db).stdout
    assert run_cli("token", "add", "ci", db=db).returncode == 2
    assert run_cli("token", "add", "bad name", db=db).returncode == 2
    assert run_cli("token", "add", "x", "--scope", "root", db=db).returncode == 2
    assert run_cli("token", "rm", "ci", db=db).returncode == 0
    gone = run_cli("token", "rm", "ci", db=db)
    assert gone.returncode == 2 and "no token named 'ci'" in gone.stderr


def test_token_ls_and_rm_on_a_missing_database_create_nothing(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 22: `token ls` on a mistyped --db made an empty database there and said "no tokens"."""
    db = tmp_path / "typo.db"
    for argv in (["token", "ls"], ["token", "ls", "--json"], ["token", "rm", "ci"]):
        with pytest.raises(SystemExit) as e:
            cli_main(["--db", str(db), *argv])
        assert e.value.code == 1, argv
        out = capsys.readouterr()
        assert out.out == "" and out.err == f"jobtui: error: no database at {db}\n", argv
        assert list(tmp_path.iterdir()) == [], argv


SERVER = Path(jobtui.__file__).parent / "server"
FORBIDDEN = ("aiosqlite", "sqlite3", "asyncpg", "jobtui.store", "jobtui.engine", "jobtui.tui", "jobtui.cli", "textual")


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_the_server_goes_through_the_client_only() -> None:
    """DESIGN.md: the server is a face; it never imports the store, the engine, the TUI or the CLI."""
    package = "jobtui.server"
    for path in sorted(SERVER.rglob("*.py")):
        mod = ".".join(path.relative_to(SERVER.parent.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = ".".join(mod.split(".")[: -node.level])
                    base = f"{parent}.{base}" if base else parent
                names = [base]
            for name in names:
                assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), f"{path.name} imports {name}"
    assert package


async def test_a_handler_bug_is_a_500_problem_with_a_reference_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """Never a traceback to the client: a 500 problem whose reference id is in the server's log (with the trace)."""
    import httpx
    from fastapi import FastAPI

    from jobtui.server import problems

    app = FastAPI()
    problems.install(app, lambda exc: False)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/boom")
    assert r.status_code == 500 and r.headers["content-type"] == problems.PROBLEM
    body = r.json()
    assert body["type"] == "urn:jobtui:problem:internal-error" and "secret internals" not in r.text
    assert any(body["reference"] in rec.getMessage() and rec.exc_info for rec in caplog.records)


@pytest.mark.slow  # a real server process
def test_https_with_a_certificate(tmp_path: Path) -> None:
    """--certfile/--keyfile serve HTTPS; the printed URL is https; the API works over it."""
    import subprocess

    from tests.server.conftest import Server, free_port

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    s = Server(str(tmp_path / "j.db"), free_port(), args=("--attach", "--certfile", str(cert), "--keyfile", str(key)),
               ca=str(cert))
    s.start()
    try:
        assert s.proc is not None and s.proc.stdout is not None
        line = s.proc.stdout.readline()
        assert line.startswith("jobtui serve: no token yet") and f"https://127.0.0.1:{s.port}/#token=jt_" in line
        s.admin = line.rsplit("token=", 1)[1].strip()
        with s.client(s.admin) as c:
            assert c.post("/jobs", json={"type": "demo"}).status_code == 201
            assert c.get("/jobs").json()["jobs"][0]["type"] == "demo"
    finally:
        code, err = s.stop()
    assert code == 0, err
