"""Job templates (`templates`): save, list, read and remove; one SQL text for both dialects (`$n` placeholders)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import UsageError
from ..templates import Template
from .base import StoreCore
from .records import _loads, dumps
from .seam import Db

_COLS = "name, job_type, params, options, created_at_ms, updated_at_ms"


def _template(r: Sequence[Any]) -> Template:
    return Template(str(r[0]), str(r[1]), _loads(r[2]) or {}, _loads(r[3]) or {}, int(r[4]), int(r[5]))


class TemplateQueries(StoreCore):
    """Saved job templates."""

    async def save_template(self, t: Template, *, replace: bool = False) -> Template:
        """Store a template (UsageError if the name is taken, unless `replace`); return it as stored."""
        now = self.clock()
        async def _body(db: Db) -> Template:
            rows = list(await db.execute_fetchall("SELECT created_at_ms FROM templates WHERE name = $1", (t.name,)))
            if rows and not replace:
                raise UsageError(f"a template named {t.name!r} exists (--replace to overwrite it)")
            created = int(rows[0][0]) if rows else now
            await db.execute("DELETE FROM templates WHERE name = $1", (t.name,))
            await db.execute(
                f"INSERT INTO templates ({_COLS}) VALUES ($1, $2, $3, $4, $5, $6)",
                (t.name, t.job_type, dumps(t.params), dumps(t.options), created, now),
            )
            return Template(t.name, t.job_type, t.params, t.options, created, now)
        return await self._atomic(_body)

    async def templates(self) -> list[Template]:
        """Return every template, by name."""
        return [_template(r) for r in await self._all(f"SELECT {_COLS} FROM templates ORDER BY name")]

    async def get_template(self, name: str) -> Template:
        """Return one template (UsageError when none has this name)."""
        row = await self._one(f"SELECT {_COLS} FROM templates WHERE name = $1", (name,))
        if row is None:
            raise UsageError(f"no template named {name!r} (see `jobtui template ls`)")
        return _template(row)

    async def remove_template(self, name: str) -> None:
        """Delete a template (UsageError when none has this name); jobs made of it and schedules naming it stay."""
        async def _body(db: Db) -> None:
            if await db.execute("DELETE FROM templates WHERE name = $1", (name,)) == 0:
                raise UsageError(f"no template named {name!r} (see `jobtui template ls`)")
        await self._atomic(_body)
