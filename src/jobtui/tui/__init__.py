"""The Textual TUI: a face on the client facade (never on SQL or engine internals)."""
