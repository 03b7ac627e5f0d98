"""PostgreSQL's own SQL (store/dialect.py): JSON lists through jsonb, typed parameters, row locks."""

from __future__ import annotations

from .dialect import Dialect, item_upsert


class PgDialect(Dialect):
    """PostgreSQL's statements and fragments."""

    name = "postgres"
    # A sequence (schema_pg.PG_EXTRA): submitters never wait for each other, an id is never given twice.
    new_ids_sql = "SELECT nextval('jobtui_job_ids') FROM generate_series(1, $1::int)"
    event_sql = (
        "INSERT INTO notifications (job_id, event, event_at_ms, kind, target, created_at_ms, next_at_ms)"
        " SELECT j.job_id, $2::text, j.updated_at_ms, t.kind, t.target, $3::bigint, $3::bigint FROM jobs j JOIN ("
        "   SELECT kind, target FROM notify_targets WHERE job_id = $1"
        "   UNION SELECT je.value ->> 0, je.value ->> 1 FROM jsonb_array_elements($4::jsonb) AS je(value)"
        "     WHERE NOT EXISTS (SELECT 1 FROM notify_targets WHERE job_id = $1)"
        " ) t ON true WHERE j.job_id = $1 AND j.status = $5::text"
        " AND (j.notify_on IS NULL OR ',' || j.notify_on || ',' LIKE '%,ended,%')"
        " ON CONFLICT DO NOTHING"
    )
    step_name = "(stage_names::jsonb ->> current_step_index::int)"
    stage_count = "jsonb_array_length(stage_names::jsonb)"
    # The next transaction id: it moves whenever a transaction that wrote anything ends (any database's).
    change_token_sql = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text, 0"
    lock_rows = " FOR UPDATE"
    lock_own = " FOR NO KEY UPDATE"
    lock_share = " FOR SHARE"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    # A lock per name (class 1 of the two-key advisory locks), held to COMMIT: a name has no row to lock before
    # its first runner inserts one. Two registrations of one name wait for each other; nothing else does.
    name_lock_sql = "SELECT pg_advisory_xact_lock(1, hashtext($1::text))"
    json_rows = "(SELECT coalesce(json_agg(json_build_array({cols})), '[]'::json) FROM {source})"
    json_list = "json_build_array({parts})::text"
    item_sql = item_upsert("$1, $2, $3, $4, $5, $6, $7, $8")

    def texts(self, param: str) -> str:
        """The elements of a jsonb array, as text."""
        return f"SELECT jsonb_array_elements_text({param}::jsonb)"

    def ids(self, param: str) -> str:
        """The elements of a jsonb array, as bigint."""
        return f"SELECT jsonb_array_elements_text({param}::jsonb)::bigint"

    def id_in(self, column: str, param: str) -> str:
        """`column = ANY(ARRAY(...))`: the list is read once (an InitPlan) and matched as an array. As `IN (subquery)`
        after a burst of submits (the table's statistics still saying a few rows), the planner chose a nested loop
        that read the list again for every row: a claim of 500 jobs took 194 ms instead of 57 (bench/profile_pg.py)."""
        return f"{column} = ANY(ARRAY({self.ids(param)}))"

    def instr(self, haystack: str, needle: str) -> str:
        """`strpos(haystack, needle)`."""
        return f"strpos({haystack}, {needle})"


PG = PgDialect()
