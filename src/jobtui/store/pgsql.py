"""The PostgreSQL dialect seam: the store's one copy of SQL, written for SQLite, translated for PostgreSQL.

Every statement of the store's mixins is translated once (and cached) the first time the PostgreSQL
store runs it: placeholders (`?`, `?N`, `:name`) become `$n`; `INSERT OR IGNORE/REPLACE` become
`INSERT ... ON CONFLICT`; `json_each(?)` becomes `jsonb_array_elements_text(...)` (cast to bigint
where it lists ids); `json_extract` becomes `->>`; the claim's `/*lock*/` mark becomes
`FOR UPDATE SKIP LOCKED`. The schema's migrations are translated the same way (`INTEGER` becomes
`BIGINT`, an `INTEGER PRIMARY KEY` an identity column, `WITHOUT ROWID` goes), so both backends keep
one schema and one version number.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .schema import API_MIGRATION, IDENTITY_MIGRATION

_PK: dict[str, tuple[str, ...]] = {
    "runners": ("runner_id",),
    "files": ("job_id", "path"),
    "attempts": ("job_id", "stage_index", "attempt"),
    "processes": ("job_id", "stage_index", "slot"),
    "job_deps": ("job_id", "depends_on"),
    "notify_targets": ("job_id", "kind", "target"),
}
"""The conflict target of each table the store writes with `INSERT OR REPLACE` (its primary key)."""

_ID_LISTS = re.compile(r"(job_id|depends_on|notification_id|up\(id\) AS)\s*(IN\s*)?\(\s*SELECT value FROM json_each\(")
_JSON_EACH = re.compile(r"SELECT value FROM json_each\((\?\d*|:\w+)\)")
_REPLACE = re.compile(r"^\s*INSERT OR REPLACE INTO (\w+)\s*\(([^)]*)\)", re.DOTALL)
_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO ", re.DOTALL)

_LITERAL_SWAPS: tuple[tuple[str, str], ...] = (
    # list_jobs(stage=...): the name of the job's current stage.
    ("json_extract(stage_names, '$[' || current_step_index || ']')",
     "(stage_names::jsonb ->> current_step_index::int)"),
    # The notification outbox's default targets: [[kind, target], ...].
    ("SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?4)",
     "SELECT je.value ->> 0, je.value ->> 1 FROM jsonb_array_elements(?4::jsonb) AS je(value)"),
    # A sum of a comparison: SQLite's booleans are integers, PostgreSQL's are not.
    (" t.kind, t.target, ?3, ?3 FROM", " t.kind, t.target, ?3::bigint, ?3::bigint FROM"),
    # SQLite takes a JOIN without ON as a cross join; PostgreSQL wants it said.
    (" ) t WHERE j.job_id = ?1", " ) t ON true WHERE j.job_id = ?1"),
    ("sum(status != 'running')", "sum((status != 'running')::int)"),
    # A parameter only tested for NULL has no type PostgreSQL can infer.
    ("CASE WHEN ? IS NULL", "CASE WHEN ?::bigint IS NULL"),
    # AUTOINCREMENT's high-water mark: kept by a trigger on jobs in PostgreSQL (see PG_EXTRA).
    ("SELECT seq FROM sqlite_sequence WHERE name = 'jobs'", "SELECT seq FROM jobtui_job_seq"),
    ("/*lock*/", "FOR UPDATE SKIP LOCKED"),
    # A claim's limited queues (store/queues.py): every claim of one queue waits for the one before it.
    ("/*lock queues*/", "FOR UPDATE"),
    # The job list's filter and progress order (store/listing.py).
    ("instr(", "strpos("),
    ("json_array_length(stage_names)", "json_array_length(stage_names::json)"),
)


@dataclass(frozen=True, slots=True)
class Translated:
    """A statement in PostgreSQL's dialect, and how to order named parameters."""

    sql: str
    names: tuple[str, ...] | None
    """For `:name` placeholders: the name of each `$n` in order; None for positional ones."""
    returns_rows: bool
    """A SELECT, WITH ... SELECT, or any statement with RETURNING."""


def _split_literals(sql: str) -> list[tuple[bool, str]]:
    """Split SQL into (is_literal, text) pieces, so that rewriting never touches a quoted string."""
    out: list[tuple[bool, str]] = []
    i = 0
    while i < len(sql):
        j = sql.find("'", i)
        if j < 0:
            out.append((False, sql[i:]))
            break
        out.append((False, sql[i:j]))
        k = j + 1
        while True:
            k = sql.find("'", k)
            if k < 0:
                k = len(sql)
                break
            if k + 1 < len(sql) and sql[k + 1] == "'":
                k += 2
                continue
            break
        out.append((True, sql[j:k + 1]))
        i = k + 1
    return out


def _placeholders(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """Turn `?`, `?N` and `:name` into `$n` (outside string literals)."""
    names: list[str] = []
    counter = 0
    named = False

    def one(m: re.Match[str]) -> str:
        nonlocal counter, named
        text = m.group(0)
        if text.startswith("?"):
            if len(text) > 1:
                return "$" + text[1:]
            counter += 1
            return f"${counter}"
        named = True
        name = text[1:]
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    pieces = []
    for literal, text in _split_literals(sql):
        pieces.append(text if literal else re.sub(r"\?\d*|(?<![:\w]):[A-Za-z_]\w*", one, text))
    return "".join(pieces), (tuple(names) if named else None)


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> Translated:
    """Return a store statement in PostgreSQL's dialect (cached: each text is translated once)."""
    out = sql
    for old, new in _LITERAL_SWAPS:
        if old in out:
            out = out.replace(old, new)
    # json_each over a list of ids compares with bigint columns: cast each element.
    out = _ID_LISTS.sub(lambda m: m.group(0).replace("SELECT value FROM json_each(", "SELECT value::bigint FROM json_each("),
                        out)
    out = re.sub(r"SELECT value(::bigint)? FROM json_each\((\?\d*|:\w+)\)",
                 lambda m: f"SELECT je.value{m.group(1) or ''} FROM jsonb_array_elements_text({m.group(2)}::jsonb)"
                           " AS je(value)", out)
    m = _REPLACE.match(out)
    if m is not None:
        table, cols = m.group(1), [c.strip() for c in m.group(2).split(",")]
        pk = _PK[table]
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in pk)
        out = out.replace("INSERT OR REPLACE INTO", "INSERT INTO", 1).rstrip().rstrip(";")
        out += f" ON CONFLICT ({', '.join(pk)}) DO " + (f"UPDATE SET {sets}" if sets else "NOTHING")
    elif _IGNORE.match(out):
        out = out.replace("INSERT OR IGNORE INTO", "INSERT INTO", 1).rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    out, names = _placeholders(out)
    head = out.lstrip().split(None, 1)[0].upper() if out.strip() else ""
    returns = head in ("SELECT", "WITH", "VALUES") or re.search(r"\bRETURNING\b", out, re.IGNORECASE) is not None
    return Translated(out, names, returns)


PG_FORMS: dict[str, str] = {
    API_MIGRATION: """
CREATE TABLE api_tokens (
    token_id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    last_used_at_ms BIGINT
);
CREATE TABLE idempotency_keys (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    job_id BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE TABLE job_events (
    event_id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    job_id BIGINT NOT NULL,
    ts_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT
);
CREATE FUNCTION jobtui_job_event() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    -- The store's one write lock (postgres.LOCK_KEY), held to commit: event ids are then given in commit
    -- order, so a reader's cursor (event_id > N) never skips an event committed late.
    PERFORM pg_advisory_xact_lock(1785684596);
    IF TG_OP = 'INSERT' THEN
        INSERT INTO job_events (job_id, ts_ms, kind, from_status, to_status)
            VALUES (NEW.job_id, NEW.updated_at_ms, 'submitted', NULL, NEW.status);
    ELSIF TG_OP = 'UPDATE' THEN
        IF OLD.status IS DISTINCT FROM NEW.status THEN
            INSERT INTO job_events (job_id, ts_ms, kind, from_status, to_status)
                VALUES (NEW.job_id, NEW.updated_at_ms, 'transition', OLD.status, NEW.status);
        END IF;
    ELSE
        INSERT INTO job_events (job_id, ts_ms, kind, from_status, to_status)
            VALUES (OLD.job_id, (extract(epoch FROM clock_timestamp()) * 1000)::bigint, 'deleted', OLD.status, NULL);
    END IF;
    RETURN NULL;
END
$f$;
CREATE TRIGGER jobtui_job_events AFTER INSERT OR UPDATE OF status OR DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobtui_job_event();
""",
    IDENTITY_MIGRATION: """
CREATE TABLE database_identity (
    database_id TEXT NOT NULL
);
INSERT INTO database_identity (database_id) VALUES (md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text));
""",
}
"""Migrations whose SQLite text cannot be translated (triggers): their PostgreSQL form, keyed by that text."""


def migration(script: str) -> str:
    """Return one of the schema's migrations (written for SQLite) in PostgreSQL's dialect."""
    if script in PG_FORMS:
        return PG_FORMS[script]
    out = re.sub(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", script)
    out = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", out)
    out = re.sub(r"\bINTEGER\b", "BIGINT", out)
    out = re.sub(r"\)\s*WITHOUT ROWID", ")", out)
    return out


PG_META = """
CREATE TABLE jobtui_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
"""The mark of a jobtui database on PostgreSQL: ('application', 'jobtui') and ('schema_version', 'N')."""

PG_EXTRA_VERSION = 2
"""Bumped whenever PG_EXTRA changes: a database whose mark says less gets it again (under the lock)."""

PG_EXTRA = """
CREATE TABLE IF NOT EXISTS jobtui_commits (token BIGINT PRIMARY KEY, at_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS jobtui_job_seq (seq BIGINT NOT NULL);
INSERT INTO jobtui_job_seq SELECT coalesce(max(job_id), 0) FROM jobs WHERE NOT EXISTS (SELECT 1 FROM jobtui_job_seq);
CREATE OR REPLACE FUNCTION jobtui_job_seq_bump() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE jobtui_job_seq SET seq = NEW.job_id WHERE seq < NEW.job_id;
    RETURN NEW;
END
$f$;
DROP TRIGGER IF EXISTS jobtui_job_seq_bump ON jobs;
CREATE TRIGGER jobtui_job_seq_bump AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobtui_job_seq_bump();
"""
"""PostgreSQL-only tables: what SQLite's AUTOINCREMENT gives for free (a job id is never used twice, even
after the newest job is deleted: its workspace folder and log lines are named by it), and the commit
tokens (`jobtui_commits`) that tell whether a transaction committed when the connection was lost with
COMMIT's answer. Re-applied after every migration and when PG_EXTRA_VERSION grows."""
