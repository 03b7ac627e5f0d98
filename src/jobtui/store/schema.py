"""The database schema as versioned migrations; `PRAGMA user_version` counts those applied."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ..model import TERMINAL, JobStatus, ordered
from .write_log import WRITE_LOG_MIGRATION


def statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (a `;` inside a string or a trigger body stays put).

    sqlite3.complete_statement tells where a statement really ends; splitting on every `;` broke on
    `DEFAULT 'a;b'` or a CREATE TRIGGER ... BEGIN ...; ...; END.
    """
    out: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n\t;"):
                out.append(current.strip())
            current = ""
    if current.strip(" \n\t;"):
        out.append(current.strip().rstrip(";"))
    return out


def sql_in(statuses: Iterable[JobStatus]) -> str:
    """Return statuses as an SQL list, "('a', 'b')", in the enum's order (the same text everywhere).

    Every status list in SQL is built by this from model.py's derived sets, never written by hand.
    """
    return "(" + ", ".join(f"'{s.value}'" for s in ordered(set(statuses))) + ")"


APPLICATION_ID = 0x6A6F6274
"""`PRAGMA application_id` of every jobtui database ("jobt"): a file without it is not ours."""

API_MIGRATION = """
CREATE TABLE api_tokens (
    token_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    last_used_at_ms INTEGER
);
CREATE TABLE idempotency_keys (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (owner, key)
) WITHOUT ROWID;
CREATE TABLE job_events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT
);
CREATE TRIGGER job_events_submitted AFTER INSERT ON jobs BEGIN
    INSERT INTO job_events (job_id, ts_ms, kind, from_status, to_status)
        VALUES (NEW.job_id, NEW.updated_at_ms, 'submitted', NULL, NEW.status);
END;
CREATE TRIGGER job_events_transition AFTER UPDATE OF status ON jobs WHEN OLD.status IS NOT NEW.status BEGIN
    INSERT INTO job_events (job_id, ts_ms, kind, from_status, to_status)
        VALUES (NEW.job_id, NEW.updated_at_ms, 'transition', OLD.status, NEW.status);
END;
CREATE TRIGGER job_events_deleted AFTER DELETE ON jobs BEGIN
    INSERT INTO job_events (job_id, ts_ms, kind, from_status, to_status)
        VALUES (OLD.job_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'deleted', OLD.status, NULL);
END;
"""
"""Migration 14 (SQLite's text; PostgreSQL's form, with its triggers in PL/pgSQL, is in schema_pg.PG_MIGRATIONS)."""

IDENTITY_MIGRATION = """
CREATE TABLE database_identity (
    database_id TEXT NOT NULL
);
INSERT INTO database_identity (database_id) VALUES (lower(hex(randomblob(16))));
"""
"""Migration 17 (SQLite's text; PostgreSQL's form is in schema_pg.PG_MIGRATIONS): a random id made once per database."""

MIGRATIONS: list[str] = [
    # 1: the first schema.
    """
    CREATE TABLE jobs (
        job_id INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        status TEXT NOT NULL,
        params TEXT NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0,
        unique_key TEXT,
        stage_names TEXT NOT NULL,
        current_step_index INTEGER NOT NULL DEFAULT 0,
        progress_done INTEGER NOT NULL DEFAULT 0,
        progress_total INTEGER NOT NULL DEFAULT 0,
        progress_message TEXT,
        failed_step TEXT,
        error_message TEXT,
        pause_reason TEXT,
        retry_count INTEGER NOT NULL DEFAULT 0,
        max_retries INTEGER NOT NULL DEFAULT 0,
        next_retry_at_ms INTEGER,
        resume_count INTEGER NOT NULL DEFAULT 0,
        recovery_count INTEGER NOT NULL DEFAULT 0,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        run_at_ms INTEGER,
        created_at_ms INTEGER NOT NULL,
        started_at_ms INTEGER,
        updated_at_ms INTEGER NOT NULL,
        paused_at_ms INTEGER,
        completed_at_ms INTEGER,
        cancelled_at_ms INTEGER,
        lease_owner TEXT,
        items_done INTEGER NOT NULL DEFAULT 0,
        items_failed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX jobs_claim ON jobs (status, priority DESC, created_at_ms, job_id);
    CREATE INDEX jobs_updated ON jobs (updated_at_ms);
    CREATE INDEX jobs_owner ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
    CREATE UNIQUE INDEX jobs_unique_active ON jobs (unique_key)
        WHERE unique_key IS NOT NULL AND status NOT IN ('completed', 'cancelled', 'failed');

    CREATE TABLE stages (
        job_id INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        stage_index INTEGER NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL DEFAULT 1,
        generation INTEGER NOT NULL DEFAULT 0,
        started_at_ms INTEGER,
        finished_at_ms INTEGER,
        error TEXT,
        output TEXT,
        state TEXT,
        checkpoint_at_ms INTEGER,
        next_attempt_at_ms INTEGER,
        items_total INTEGER,
        items_done INTEGER NOT NULL DEFAULT 0,
        items_failed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (job_id, stage_index)
    ) WITHOUT ROWID;

    CREATE TABLE attempts (
        job_id INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        stage_index INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        failed_at_ms INTEGER NOT NULL,
        error TEXT NOT NULL,
        transient INTEGER NOT NULL,
        PRIMARY KEY (job_id, stage_index, attempt)
    ) WITHOUT ROWID;

    CREATE TABLE items (
        job_id INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        stage_index INTEGER NOT NULL,
        key TEXT NOT NULL,
        status TEXT NOT NULL,
        result TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 1,
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (job_id, stage_index, key)
    ) WITHOUT ROWID;

    CREATE TABLE logs (
        log_id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX logs_job ON logs (job_id, log_id);

    CREATE TABLE requests (
        request_id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        action TEXT NOT NULL,
        from_status TEXT NOT NULL,
        to_status TEXT NOT NULL,
        detail TEXT,
        source TEXT NOT NULL
    );
    CREATE INDEX requests_job ON requests (job_id, request_id);

    CREATE TABLE runners (
        runner_id TEXT PRIMARY KEY,
        pid INTEGER NOT NULL,
        hostname TEXT NOT NULL,
        started_at_ms INTEGER NOT NULL,
        heartbeat_at_ms INTEGER NOT NULL,
        concurrency INTEGER NOT NULL
    );
    """,
    # 2: files a stage keeps in the job's workspace, tracked by path, size and hash.
    """
    CREATE TABLE files (
        job_id INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        stage_index INTEGER NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (job_id, path)
    ) WITHOUT ROWID;
    """,
    # 3: dependencies: a job waits (status 'blocked') until every job it depends on has completed.
    """
    CREATE TABLE job_deps (
        job_id INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        depends_on INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        PRIMARY KEY (job_id, depends_on)
    ) WITHOUT ROWID;
    CREATE INDEX job_deps_on ON job_deps (depends_on, job_id);
    """,
    # 4: the unique-key index's list of ended states, derived from the transition table (model.TERMINAL)
    # and written by sql_in() like every query that should use the index (its text must match theirs).
    f"""
    DROP INDEX jobs_unique_active;
    CREATE UNIQUE INDEX jobs_unique_active ON jobs (unique_key)
        WHERE unique_key IS NOT NULL AND status NOT IN {sql_in(TERMINAL)};
    """,
    # 5: each runner's lease TTL, so that every runner is judged by its own (NULL: registered before v5).
    """
    ALTER TABLE runners ADD COLUMN lease_ttl_ms INTEGER;
    """,
    # 6: a stage's runs (every start: attempts, resumes, recoveries) apart from its failures (failed attempts
    # in the current retry budget), and the traceback of an unexpected exception.
    """
    ALTER TABLE stages ADD COLUMN runs INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE stages ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE stages ADD COLUMN traceback TEXT;
    UPDATE stages SET runs = attempts, failures = (SELECT count(*) FROM attempts a
        WHERE a.job_id = stages.job_id AND a.stage_index = stages.stage_index);
    """,
    # 7: notifications: where a job's ends are told (notify_targets), and an outbox of events to deliver,
    # written in the same transaction as the job's end (one row per event and target).
    """
    CREATE TABLE notify_targets (
        job_id INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        PRIMARY KEY (job_id, kind, target)
    ) WITHOUT ROWID;
    CREATE TABLE notifications (
        notification_id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        event TEXT NOT NULL,
        event_at_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at_ms INTEGER NOT NULL,
        next_at_ms INTEGER NOT NULL,
        sent_at_ms INTEGER,
        claimed_by TEXT,
        claimed_until_ms INTEGER,
        UNIQUE (job_id, event, event_at_ms, kind, target)
    );
    CREATE INDEX notifications_due ON notifications (next_at_ms) WHERE state = 'pending';
    """,
    # 8: a job-level time limit given at submit (`--timeout`); NULL: the job type's.
    """
    ALTER TABLE jobs ADD COLUMN timeout_ms INTEGER;
    """,
    # 9: processes that command stages started, recorded so that a later runner can end any that
    # outlived a dead runner (identified by pid, pgid, start time and boot id) before rerunning.
    """
    CREATE TABLE processes (
        job_id INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        stage_index INTEGER NOT NULL,
        slot TEXT NOT NULL,
        pid INTEGER NOT NULL,
        pgid INTEGER NOT NULL,
        start_ticks INTEGER NOT NULL,
        boot_id TEXT NOT NULL,
        runner_id TEXT,
        argv TEXT NOT NULL,
        cwd TEXT,
        started_at_ms INTEGER NOT NULL,
        ended_at_ms INTEGER,
        exit_code INTEGER,
        frozen INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (job_id, stage_index, slot)
    ) WITHOUT ROWID;
    """,
    # 10: recurring schedules, and one row per occurrence: its primary key is what keeps two runners
    # from firing the same occurrence twice.
    """
    CREATE TABLE schedules (
        name TEXT PRIMARY KEY,
        cron TEXT,
        timezone TEXT NOT NULL DEFAULT 'UTC',
        every_ms INTEGER,
        anchor_ms INTEGER NOT NULL,
        job_type TEXT NOT NULL,
        params TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{}',
        paused INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL,
        next_at_ms INTEGER NOT NULL,
        last_at_ms INTEGER,
        last_job_id INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX schedules_due ON schedules (next_at_ms) WHERE paused = 0;
    CREATE TABLE schedule_runs (
        name TEXT NOT NULL,
        occurrence_ms INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        job_id INTEGER,
        missed INTEGER NOT NULL DEFAULT 0,
        detail TEXT,
        at_ms INTEGER NOT NULL,
        runner_id TEXT,
        PRIMARY KEY (name, occurrence_ms)
    ) WITHOUT ROWID;
    """,
    # 11: several hosts: a runner's name and tags (runner_tags, gone with its runner), and the tags a job
    # needs (job_needs): a runner claims a job only when it has every tag the job needs.
    """
    ALTER TABLE runners ADD COLUMN name TEXT;
    CREATE TABLE runner_tags (
        runner_id TEXT NOT NULL REFERENCES runners (runner_id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (runner_id, tag)
    ) WITHOUT ROWID;
    CREATE TABLE job_needs (
        job_id INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (job_id, tag)
    ) WITHOUT ROWID;
    """,
    # 12: retention marks a job before it deletes the first of its rows (issue 14, item 8): a marked job
    # is deleted to the end, and no rewind, resume or retry brings back a job that has lost part of them.
    """
    ALTER TABLE jobs ADD COLUMN purging_at_ms INTEGER;
    """,
    # 13: hostile neighbours (issue 14): a runner's host identity (boot id and PID namespace: only a runner with
    # the same may judge it by its pid); per command, what contains it beyond its process group (the token in
    # its environment, its cgroup), so that a later runner can end what a dead runner's command left.
    """
    ALTER TABLE runners ADD COLUMN host_id TEXT;
    ALTER TABLE processes ADD COLUMN token TEXT;
    ALTER TABLE processes ADD COLUMN cgroup TEXT;
    """,
    # 14: the HTTP API (`jobtui serve`): its tokens (hashed), the idempotency keys of its submissions, and
    # job_events: every job's submission, status change and deletion, numbered in commit order by triggers
    # (whoever writes: a runner, a person, retention), the cursor of the API's event streams.
    API_MIGRATION,
    # 15: bytes of command output a job has logged in all its runs, so that its output cap holds across
    # resumes and recoveries (issue 14).
    """
    ALTER TABLE jobs ADD COLUMN output_bytes INTEGER NOT NULL DEFAULT 0;
    """,
    # 16: the job list at 100,000 jobs (issue 18): each order the TUI offers walks an index instead of
    # a sort of every job (updated: ties by id, as PostgreSQL needs said; status: the TUI's ranks, as
    # store/listing.py writes them), and `search_text` holds what a filter's free words may match that
    # never changes (type, unique key, params with secrets redacted).
    """
    ALTER TABLE jobs ADD COLUMN search_text TEXT;
    DROP INDEX jobs_updated;
    CREATE INDEX jobs_updated_id ON jobs (updated_at_ms, job_id);
    CREATE INDEX jobs_priority ON jobs (priority DESC, job_id);
    CREATE INDEX jobs_type ON jobs (type, job_id);
    CREATE INDEX jobs_status_rank ON jobs ((CASE status WHEN 'failed' THEN 0 WHEN 'waiting_retry' THEN 1
        WHEN 'pausing' THEN 2 WHEN 'cancelling' THEN 3 WHEN 'running' THEN 4 WHEN 'paused' THEN 5 WHEN 'queued' THEN 6
        WHEN 'blocked' THEN 6 WHEN 'cancelled' THEN 7 WHEN 'completed' THEN 8 ELSE 99 END), job_id);
    """,
    # 17: the database's identity, so that a notification's Idempotency-Key is unique across databases
    # (two databases, or a recreated one, count notifications from 1 alike; issue 15 item 10).
    IDENTITY_MIGRATION,
    # 18: labels (issue 21 item 2): `key=value` pairs of a job, one value per key; the (key, value) index finds
    # the jobs of one label (`ls --label project=42`, the filter `label:project=42`) without reading every job.
    """
    CREATE TABLE job_labels (
        job_id INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (job_id, key)
    ) WITHOUT ROWID;
    CREATE INDEX job_labels_kv ON job_labels (key, value, job_id);
    """,
    # 19: queues (issue 21): limits that hold across every runner, read and applied in the claim
    # (store/queues.py); a job names its queue and, in a queue that gives slots, holds a slot number;
    # queue_starts keeps each start of a rated queue for as long as its window lasts.
    """
    CREATE TABLE queues (
        name TEXT PRIMARY KEY,
        concurrency INTEGER,
        per_runner INTEGER,
        rate_count INTEGER,
        rate_window_ms INTEGER,
        slots INTEGER NOT NULL DEFAULT 0,
        paused INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    CREATE TABLE queue_starts (
        queue TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        job_id INTEGER NOT NULL
    );
    CREATE INDEX queue_starts_at ON queue_starts (queue, at_ms);
    ALTER TABLE jobs ADD COLUMN queue TEXT;
    ALTER TABLE jobs ADD COLUMN slot INTEGER;
    CREATE INDEX jobs_queue ON jobs (queue, status) WHERE queue IS NOT NULL;
    """,
    # 20: templates (issue 21 item 4): a saved job type, params and options, submitted again by name; and the
    # events a job's notification targets are told of (`--notify-on`; NULL: its ends only, as before).
    """
    CREATE TABLE templates (
        name TEXT PRIMARY KEY,
        job_type TEXT NOT NULL,
        params TEXT NOT NULL,
        options TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    ALTER TABLE jobs ADD COLUMN notify_on TEXT;
    """,
    # 21: `jobtui runners stop` (issue 19 item 6): when a runner was asked to hand its jobs back and exit; the
    # runner reads it at each heartbeat, so that a runner on another host of a fleet hears it too.
    """
    ALTER TABLE runners ADD COLUMN stop_requested_at_ms INTEGER;
    """,
    # 22: notifications in the event log (issue 22): each outbox row queued, sent or given up is an event
    # (kind 'notification': from_status holds the notification's event, to_status its state, ref_id its id),
    # numbered with the jobs' events so one Last-Event-ID cursor resumes both.
    """
    ALTER TABLE job_events ADD COLUMN ref_id INTEGER;
    CREATE TRIGGER job_events_notification AFTER INSERT ON notifications BEGIN
        INSERT INTO job_events (job_id, ts_ms, kind, from_status, to_status, ref_id)
            VALUES (NEW.job_id, NEW.created_at_ms, 'notification', NEW.event, NEW.state, NEW.notification_id);
    END;
    CREATE TRIGGER job_events_notification_state AFTER UPDATE OF state ON notifications
        WHEN OLD.state IS NOT NEW.state BEGIN
        INSERT INTO job_events (job_id, ts_ms, kind, from_status, to_status, ref_id)
            VALUES (NEW.job_id, coalesce(NEW.sent_at_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
                    'notification', NEW.event, NEW.state, NEW.notification_id);
    END;
    """,
    # 23: the TUI's list reads what changed since its last poll in commit order (issue 18): each write of a job
    # numbers it (`job_writes.seq`) above every job written before, so a change stamped long before it committed
    # (a runner's write held up under load) is still read; SQLite writes one transaction at a time, so the numbers
    # follow commit order. A narrow table of its own: rewriting the job's row from a trigger tripled a progress
    # write's cost here, this adds ~50 %. A deleted job's number goes, unless it is the newest (numbers never go
    # back). PostgreSQL has the table, empty (see schema_pg).
    """
    CREATE TABLE job_writes (
        job_id INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL
    );
    CREATE INDEX job_writes_seq ON job_writes (seq);
    CREATE TRIGGER job_writes_insert AFTER INSERT ON jobs BEGIN
        INSERT INTO job_writes (job_id, seq) VALUES (NEW.job_id, (SELECT coalesce(max(seq), 0) + 1 FROM job_writes))
            ON CONFLICT (job_id) DO UPDATE SET seq = excluded.seq;
    END;
    CREATE TRIGGER job_writes_update AFTER UPDATE ON jobs BEGIN
        INSERT INTO job_writes (job_id, seq) VALUES (NEW.job_id, (SELECT coalesce(max(seq), 0) + 1 FROM job_writes))
            ON CONFLICT (job_id) DO UPDATE SET seq = excluded.seq;
    END;
    CREATE TRIGGER job_writes_delete AFTER DELETE ON jobs BEGIN
        DELETE FROM job_writes WHERE job_id = OLD.job_id AND seq < (SELECT max(seq) FROM job_writes);
    END;
    """,
    # 24: the TUI's feed reads 23's numbers from a bounded log at a third of the cost (store/write_log.py).
    WRITE_LOG_MIGRATION,
]
"""Each entry upgrades the schema by one version; never edit one that has shipped, append (and append its
PostgreSQL form to schema_pg.PG_MIGRATIONS: tests/store/test_golden_sql.py checks both lists)."""

_V1_TABLES = frozenset({"jobs", "stages", "attempts", "items", "logs", "requests", "runners"})
LEGACY_TABLES: dict[int, frozenset[str]] = {1: _V1_TABLES, 2: _V1_TABLES | {"files"}}
"""The tables of the schema versions written before databases were marked with APPLICATION_ID."""
