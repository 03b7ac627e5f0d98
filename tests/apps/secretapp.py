"""A job type that puts a secret in every place one can end up (issue 6, item 6), for the redaction tests.

Each secret is a unique string; tests/test_secrets_everywhere.py greps every output for each of them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from jobtui import Context, JobType, Param, PermanentError, Stage

TOP = "Sx1-top-4f9c2e"
DB_PASS = "Sx2-dbpass-77ab"
NESTED = "Sx3-nested-90cd"
PASSPHRASE = 'Sx4-"quoted"-é\\slash'
SHORT = "wq"
USERINFO = "Sx5-userinfo-31ee"
QUERY = "Sx6-query-8d1f"
DEFAULT = "Sx7-default-c0de"
URL = f"https://bob:{USERINFO}@example.invalid/data?n=1&sig={QUERY}"

SECRETS = (TOP, DB_PASS, NESTED, PASSPHRASE, USERINFO, QUERY, DEFAULT)
"""The long ones; SHORT is checked as a whole token."""

PARAMS: dict[str, Any] = {
    "api_key": TOP, "db_pass": DB_PASS, "creds": [{"user": "bob", "token": NESTED}], "passphrase": PASSPHRASE,
    "pwd": SHORT, "url": URL,
}


async def work(ctx: Context) -> dict[str, Any]:
    p = ctx.params
    ctx.log(f"connecting to {p['url']} with {p['api_key']} and {p['pwd']}")
    ctx.log("creds " + json.dumps(p["creds"]) + " passphrase " + json.dumps(p["passphrase"]))
    ctx.log(f"encoded {quote(p['passphrase'], safe='')} and {quote(p['db_pass'])} cookie {p['session_cookie']}")
    ctx.progress(1, 2, f"step with {p['api_key']}")

    async def one(key: str) -> dict[str, Any]:
        if key == "plain":
            raise PermanentError(f"denied for {p['api_key']} at {p['url']}")
        return {"echo": f"got {p['db_pass']}", "raw": p["passphrase"], "from": p["url"]}

    # The failed item is tolerated, so the job goes on to `fail` and puts a secret in its error too.
    async for _ in ctx.items([f"{NESTED}-key", "plain"], one, key=lambda k: k, allow_failures=1):
        pass
    return {"seen": p["db_pass"]}


async def fail(ctx: Context) -> None:
    raise RuntimeError(f"cannot log in with {ctx.params['passphrase']} / {ctx.params['pwd']} / {ctx.params['db_pass']}")


secretive = JobType(
    "secretive",
    [Stage(work, "work"), Stage(fail, "fail")],
    params={
        "api_key": Param(str, ""), "db_pass": Param(str, ""), "creds": Param(list, []), "passphrase": Param(str, ""),
        "pwd": Param(str, ""), "url": Param(str, ""),
        "session_cookie": Param(str, DEFAULT, "a secret default"),
    },
    description="puts secrets everywhere",
)
