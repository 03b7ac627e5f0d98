"""OrderedInput: an Input whose editing keys act in the order they were typed, also when keys come in a burst.

Textual's Input inserts printable keys as it reads them, but an editing key it binds (backspace, ctrl+u,
ctrl+w, left...) first bubbles up to the app, which runs the binding when the event reaches it: keys typed
after it and delivered in the same burst (a loaded machine, an SSH link) are inserted first. Measured on
Textual 8.2.8: "abc", then "ctrl+u y z" in one burst left "" (issue 15 item 17); "e backspace f" left "e"
deleted "f" instead. This widget runs its own bindings when it reads the key, so every key acts in order.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widgets import Input


def _editing_keys() -> dict[str, str]:
    """Return Input's own key bindings: key -> action."""
    keys: dict[str, str] = {}
    for b in Input.BINDINGS:
        if isinstance(b, Binding):
            for key in b.key.split(","):
                keys[key.strip()] = b.action
    return keys


class OrderedInput(Input):
    """An Input that applies its editing keys in order with the characters typed around them."""

    EDITING_KEYS = _editing_keys()
    """Input's bindings (Textual's defaults), run here rather than after the event has bubbled to the app."""

    async def _on_key(self, event: events.Key) -> None:
        action = None if event.is_printable else self.EDITING_KEYS.get(event.key)
        if action is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        await self.run_action(action)
