"""The log of job writes the TUI's feed reads in commit order on SQLite (schema migration 24)."""

from __future__ import annotations

WRITE_LOG_KEEP = 100_000
"""How many of the newest job writes `job_write_log` keeps (~1.5 MB): a feed that polls less often than this many
writes land (a suspended TUI) reads its window and its pinned jobs again (tui/feed.py `_lost_writes`)."""

WRITE_LOG_MIGRATION = f"""
    DROP TRIGGER job_writes_insert;
    DROP TRIGGER job_writes_update;
    DROP TRIGGER job_writes_delete;
    CREATE TABLE job_write_log (
        seq INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL
    );
    INSERT INTO job_write_log (seq, job_id) SELECT coalesce(max(seq), 0), 0 FROM job_writes;
    DROP TABLE job_writes;
    CREATE TRIGGER job_write_log_update AFTER UPDATE ON jobs WHEN OLD.status IS NEW.status BEGIN
        INSERT INTO job_write_log (job_id) VALUES (NEW.job_id);
        DELETE FROM job_write_log WHERE seq = last_insert_rowid() - {WRITE_LOG_KEEP};
    END;
    """
"""Migration 24: migration 23's numbering of each job write (issue 18: a progress tick that commits long after its
stamp is still read) at a third of its cost (issue 20: bench_e2e's stages paid ~3 us per job write for 23's
upsert of a per-job number and the index entry it moved). One row appended per write, its rowid the number (an
insert at the table's right edge, no index); each write drops the row WRITE_LOG_KEEP numbers older, so the log
stays bounded, its numbers contiguous, and a reader that fell further behind sees a gap (`job_changes_after`).
A write that changes the job's status is not logged: its job event tells the feed, in commit order too; nor is
a submission or a deletion (their events). The numbers go on from 23's (its newest is the log's first row, of
no job). Never edit it once shipped (store/schema.py MIGRATIONS)."""
