"""Secrets: the one redaction function every surface uses (show, ls, logs, export, types, TUI, manifests).

`redact(value, secrets)` walks any JSON-like value and returns a copy fit to show:
- a mapping entry whose name looks secret (`is_secret_name`: api_key, db_pass, passphrase, creds,
  X-Amz-Signature, ...) shows as `***`, whatever it holds (lists and objects too);
- every string, and every mapping key, has secret parts of URLs blanked (`user:***@host`,
  `?token=***`) and, given `secrets` (`Secrets.of(job.params)`), every occurrence of a secret
  param value blanked: as given, JSON-escaped, and URL-encoded; values under four characters only
  where they stand as a whole token, so that a short secret does not blank every word holding it.

Pure: standard library only.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "***"

_SECRET_PARTS = frozenset({
    "key", "keys", "apikey", "token", "tokens", "secret", "secrets", "password", "passwords", "passwd", "pass",
    "passphrase", "pwd", "pw", "credential", "credentials", "cred", "creds", "auth", "authorization", "cookie",
    "cookies", "session", "sessionid", "sig", "signature", "bearer", "jwt", "otp", "privatekey", "accesskey",
})
"""Name parts that mark a secret (names split on punctuation and camelCase: `db_pass`, `apiKey`)."""
_SECRET_INFIXES = ("passw", "secret", "token", "apikey", "credential", "passphrase", "privatekey", "accesskey")
"""Runs of letters that mark a secret wherever they stand in a name (`mytoken`, `clientsecretvalue`)."""
_PARTS = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Tell whether a param, field or query-parameter name looks like it holds a secret.

    Cached: the same few names (a job type's params) are asked about for every job a runner claims.
    """
    compact = re.sub(r"[^a-z0-9]", "", name.lower())
    if any(infix in compact for infix in _SECRET_INFIXES):
        return True
    return any(part.lower() in _SECRET_PARTS for part in _PARTS.split(name) if part)


_QUERY = re.compile(r"([?&;])([^=&#\s\"'?;]+)=([^&#\s\"']+)")
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+@", re.IGNORECASE)


def _query_value(m: re.Match[str]) -> str:
    return f"{m[1]}{m[2]}={REDACTED}" if is_secret_name(m[2]) else m[0]


def _scrub_urls(text: str) -> str:
    if "=" in text:
        text = _QUERY.sub(_query_value, text)
    if "@" in text:
        text = _USERINFO.sub(r"\1" + REDACTED + "@", text)
    return text


@dataclass(frozen=True, slots=True)
class Secrets:
    """The secret values of one job's params, with one pattern that finds any of their forms in text."""

    values: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None

    @classmethod
    def of(cls, params: Mapping[str, Any] | None) -> Secrets:
        """Collect the values under secret-looking names, at any depth (`creds=[{"token": ...}]`)."""
        found: set[str] = set()
        _collect(params or {}, False, found)
        return cls.from_values(found)

    @classmethod
    def from_values(cls, values: Iterable[str]) -> Secrets:
        """Return Secrets for these values (empty ones are ignored)."""
        vals = tuple(sorted({v for v in values if v}, key=lambda v: (-len(v), v)))
        if not vals:
            return cls()
        forms: set[str] = set()
        for v in vals:
            forms.update((v, json.dumps(v)[1:-1], json.dumps(v, ensure_ascii=False)[1:-1], quote(v, safe=""),
                          quote_plus(v), quote(v)))
        alts = []
        for f in sorted(forms, key=lambda f: (-len(f), f)):
            if len(f) >= 4:
                alts.append(re.escape(f))
            else:
                # Short: only as a whole token ("pw1" in "pw1 failed", not in "pw12" or "xpw1").
                alts.append(r"(?<![0-9A-Za-z_])" + re.escape(f) + r"(?![0-9A-Za-z_])")
        return cls(vals, re.compile("|".join(alts)))

    def __bool__(self) -> bool:
        return bool(self.values)

    def __iter__(self) -> Any:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def _collect(value: Any, secret: bool, found: set[str]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _collect(v, secret or is_secret_name(str(k)), found)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect(v, secret, found)
    elif secret and value is not None and value != "" and not isinstance(value, bool):
        found.add(str(value))


_NONE = Secrets()


def redact(value: Any, secrets: Secrets | Iterable[str] | None = None) -> Any:
    """Return `value` fit to show: secret fields masked, secret values and URL secrets blanked (see module doc).

    Args:
        value: a string, or any JSON-like value (mappings, lists, scalars).
        secrets: the secret values of the job the value belongs to (`Secrets.of(job.params)`).
    """
    if secrets is None:
        s = _NONE
    elif isinstance(secrets, Secrets):
        s = secrets
    else:
        s = Secrets.from_values(secrets)
    return _redact(value, s)


def _redact(value: Any, s: Secrets) -> Any:
    if isinstance(value, str):
        text = _scrub_urls(value)
        return s.pattern.sub(REDACTED, text) if s.pattern is not None else text
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            name = str(k)
            key = _redact(k, s) if isinstance(k, str) else k
            if is_secret_name(name) and v not in (None, ""):
                out[key] = REDACTED
            else:
                out[key] = _redact(v, s)
        return out
    if isinstance(value, (list, tuple)):
        return [_redact(v, s) for v in value]
    return value


# Names kept for the callers of the first API; each is `redact` underneath.
def secret_values(params: Mapping[str, Any]) -> Secrets:
    """Return the secret values of params (see `Secrets.of`)."""
    return Secrets.of(params)


def scrub(text: str, secrets: Secrets | Iterable[str] | None = None) -> str:
    """Return text with secret values and URL secrets blanked: `redact` of a string."""
    return str(redact(text, secrets))


def scrub_urls(text: str) -> str:
    """Return text with the secret parts of URLs blanked: `redact` of a string without job secrets."""
    return str(redact(text))


_USER_OPT = re.compile(r"((?:^|\s)(?:-u|--user)(?:\s+|=)['\"]?)([^\s:'\"]+):([^\s'\"]+)")
"""`curl -u user:password`: the password goes."""
_HEADER = re.compile(r"(?<![\w-])([A-Za-z][\w-]*)(:[ \t]*)((?:Bearer|Basic|Token|Digest)[ \t]+)?([^\s'\"]+)")
"""`Authorization: Bearer X`, `X-Api-Key: X`: values of headers whose names look secret."""
_ASSIGN = re.compile(r"(?<![\w-])(-{0,2}[A-Za-z_][\w-]*)=(\"[^\"]*\"|'[^']*'|[^\s;&|'\"]+)")
"""`API_TOKEN=X cmd`, `--password=X`: values assigned to names that look secret."""
_OPTION = re.compile(r"(?<!\S)(--?[A-Za-z][\w-]*)([ \t]+)(\"[^\"]*\"|'[^']*'|[^\s;&|'\"-][^\s;&|'\"]*)")
"""`--token X`, `--password X`: the word after an option whose name looks secret."""


def _masked(name: str) -> bool:
    return is_secret_name(name.lstrip("-"))


def redact_command(text: str, secrets: Secrets | Iterable[str] | None = None) -> str:
    """Return a shell command line fit to show: `redact` of it, plus the credentials commands carry.

    Blanks, besides URL secrets and the job's secret values: `NAME=value` and `--name value` where
    the name looks secret (`is_secret_name`), `-u user:password`, and the values of secret-looking
    headers (`Authorization: Bearer ...`). A notify command is shown this way in `show`, `show --json`
    and the runner's log.
    """
    text = scrub(text, secrets)
    text = _USER_OPT.sub(lambda m: f"{m[1]}{m[2]}:{REDACTED}", text)
    text = _HEADER.sub(lambda m: f"{m[1]}{m[2]}{m[3] or ''}{REDACTED}" if _masked(m[1]) else m[0], text)
    text = _ASSIGN.sub(lambda m: f"{m[1]}={REDACTED}" if _masked(m[1]) else m[0], text)
    return _OPTION.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}" if _masked(m[1]) else m[0], text)


def has_secret(text: str) -> bool:
    """Tell whether a URL or command line carries a credential that `redact_command` blanks."""
    return redact_command(text) != text
