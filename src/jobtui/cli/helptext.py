"""How `--help` reads: examples at the end of every command's help, global options said once, one name per kind
of value (ID, N, DURATION), defaults shown, and `did you mean …?` for a mistyped command or option (issue 19)."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Iterable, Iterator

from .examples import EXAMPLES

GLOBAL_OPTIONS = ("--db", "--db-file", "--app", "--workspace-root", "--config")
"""Options every command takes, before or after its name; `jobtui --help` states them, the commands' help does not."""

GLOBAL_NOTE = ("global options (--db, --db-file, --app, --workspace-root, --config) may come before or after the command:"
               " see `jobtui --help`")


class HelpFormatter(argparse.HelpFormatter):
    """Wrap paragraphs but keep indented lines (the examples) as written; show each option's default."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if not line.strip() or line.startswith(" "):
                lines.append(indent + line if line.strip() else "")
            else:
                lines.append(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(lines)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        if not text or text == argparse.SUPPRESS or "default" in text or not shows_default(action):
            return text
        return f"{text} (default: %(default)s)"


def shows_default(action: argparse.Action) -> bool:
    """Tell whether an option's default says something (not None, a flag's False, or an empty list)."""
    d = action.default
    return bool(action.option_strings) and not (d is None or d is argparse.SUPPRESS or isinstance(d, bool) or d in ([], ()))


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Yield (command path, parser) for the parser and every subcommand below it: ('', root), ('ls', …), ('schedule add', …)."""
    yield " ".join(path), parser
    for action in parser._actions:  # argparse keeps its subparsers there; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))


def examples_text(path: str) -> str:
    """Return the `examples:` block of a command's help (empty when it has none)."""
    rows = EXAMPLES.get(path, ())
    if not rows:
        return ""
    return "examples:\n" + "\n".join(f"  # {what}\n  {line}" for what, line in rows)


def decorate(root: argparse.ArgumentParser) -> None:
    """Finish every parser's help: metavars by kind, global options hidden below the root, examples last."""
    for path, parser in walk(root):
        for action in parser._actions:
            if action.metavar is None and action.nargs != 0:
                kind = getattr(action.type, "metavar", None)
                if kind:
                    action.metavar = kind
                elif not action.option_strings and not isinstance(action, argparse._SubParsersAction):
                    action.metavar = action.dest.upper()
            if not action.help and shows_default(action):
                action.help = "default: %(default)s"
            if path and set(action.option_strings) & set(GLOBAL_OPTIONS):
                action.help = argparse.SUPPRESS
        parts = [parser.epilog] if parser.epilog else []
        if path and "--db" in parser._option_string_actions:
            parts.append(GLOBAL_NOTE)
        if text := examples_text(path):
            parts.append(text)
        parser.epilog = "\n\n".join(parts) or None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate closest to a mistyped `word`, if one is close enough."""
    import difflib  # a mistyped word only (start-up, issue 18)

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def options_of(parser: argparse.ArgumentParser) -> list[str]:
    """Return the long options a parser shows in its help."""
    return [o for a in parser._actions if a.help != argparse.SUPPRESS for o in a.option_strings if o.startswith("--")]


def deepest(parser: argparse.ArgumentParser, a: argparse.Namespace) -> argparse.ArgumentParser:
    """Return the parser of the (sub)command that `a` was parsed for: `schedule add`'s for `jobtui schedule add …`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            name = getattr(a, action.dest, None)
            if name in action.choices:
                return deepest(action.choices[name], a)
    return parser


def unrecognized(root: argparse.ArgumentParser, parser: argparse.ArgumentParser, extra: list[str]) -> str:
    """Say which arguments `parser` did not take, with the option meant or the commands that have it."""
    text = f"unrecognized arguments: {' '.join(extra)}"
    option = next((x.split("=", 1)[0] for x in extra if x.startswith("--")), None)
    if option is None:
        return text
    if close := did_you_mean(option, options_of(parser)):
        return f"{text}; did you mean {close}?"
    owners = [path for path, p in walk(root) if path and option in options_of(p)]
    if owners and len(owners) <= 3:
        return f"{text}; {option} is an option of " + ", ".join(f"`jobtui {o}`" for o in owners)
    return text


def invalid_choice(parser: argparse.ArgumentParser, action: argparse.Action, value: str) -> str:
    """Say that `value` is not one of `action`'s choices, with the one probably meant."""
    choices = [str(c) for c in action.choices or ()]
    close = did_you_mean(value, choices)
    if isinstance(action, argparse._SubParsersAction):
        prefix = parser.prog.removeprefix("jobtui").strip()
        name = (prefix + " ").lstrip()
        if close:
            return f"unknown command {name + value!r}; did you mean `jobtui {name}{close}`?"
        return f"unknown command {name + value!r} (commands: {', '.join(choices)})"
    hint = f"; did you mean {close!r}?" if close else ""
    return f"invalid choice {value!r} (choose from {', '.join(choices)}){hint}"
