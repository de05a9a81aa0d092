"""Python source for generated modules: a few expression kinds, rendered on one line each, then laid out by
`ruff format` (the project's formatter, a dev dependency) with the project's own settings.

Every string longer than SPLIT_AT is written as adjacent literals in parentheses; ruff joins back the ones that
fit on their line, and `unwrap_lone_strings` drops the parentheses left around a joined one, so the result
passes `ruff check` (E501, line length) as well.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LINE_LENGTH = 120
SPLIT_AT = 80  # the longest piece of a split string
LONE_CALL_AT = 100  # an f-string piece this wide may not fit its line once indented


class Expr:
    def render(self, ctx: Render) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Render:
    """How to render: `split` strings longer than SPLIT_AT into adjacent literals."""

    split: bool = True


@dataclass(frozen=True)
class Code(Expr):
    """Source text as it is: a name (m.UP, t.HOST_CPU) or an expression."""

    text: str

    def render(self, ctx: Render) -> str:
        return self.text


@dataclass(frozen=True)
class Call(Expr):
    func: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def render(self, ctx: Render) -> str:
        parts = [render(a, ctx) for a in self.args] + [f"{k}={render(v, ctx)}" for k, v in self.kwargs]
        return f"{self.func}({', '.join(parts)})"


def call(func: str, *args: Any, **kwargs: Any) -> Call:
    return Call(func, args, tuple(kwargs.items()))


@dataclass(frozen=True)
class FString(Expr):
    """An f-string: literal text and expressions, in order."""

    parts: tuple[str | Expr, ...]

    def render(self, ctx: Render) -> str:
        if not any(isinstance(p, Expr) for p in self.parts):
            return render("".join(str(p) for p in self.parts), ctx)
        literal = "".join(p for p in self.parts if isinstance(p, str))
        if ctx.split and len(_plain(self)) > SPLIT_AT:
            pieces = [FString(tuple(chunk)) for chunk in _chunks(self.parts)]
            if len(pieces) > 1:
                rendered = [p.render(Render(split=False)) for p in pieces]
                if any(len(text) > LONE_CALL_AT for text in rendered):
                    # A builder call too wide for its line even alone: `+` lets ruff format break the call
                    # itself, which it cannot do inside an f-string on Python 3.11. Builders return str.
                    rendered = [_bare(piece) or text for piece, text in zip(pieces, rendered, strict=True)]
                    return "(" + " + ".join(rendered) + ")"
                return "(" + " ".join(rendered) + ")"
        quote = _quote_for(literal)
        inner = "'" if quote == '"' else '"'
        body = ""
        for part in self.parts:
            if isinstance(part, str):
                body += _escape(part, quote).replace("{", "{{").replace("}", "}}")
            else:
                body += "{" + part.render(Render(split=False)).replace(quote, inner) + "}"
        return f"f{quote}{body}{quote}"


def _bare(piece: FString) -> str | None:
    """A piece that is one builder call and nothing else, as the call."""
    if len(piece.parts) == 1 and isinstance(piece.parts[0], Call):
        return piece.parts[0].render(Render(split=False))
    return None


def _plain(fstring: FString) -> str:
    return "".join(p if isinstance(p, str) else "{" + p.render(Render(split=False)) + "}" for p in fstring.parts)


@dataclass(frozen=True)
class Comment:
    """A comment line (or lines) before a statement."""

    text: str


def render(value: Any, ctx: Render | None = None) -> str:
    """A JSON-like value (dicts, lists, strings, numbers, booleans, None) or an Expr, as Python source."""
    ctx = ctx or Render()
    if isinstance(value, Expr):
        return value.render(ctx)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if ctx.split and len(value) > SPLIT_AT and len(pieces := _split_text(value)) > 1:
            return "(" + " ".join(string_literal(piece) for piece in pieces) + ")"
        return string_literal(value)
    if isinstance(value, dict):
        # Keys in Grafana's own order: its save model sorts them (sortedDeepCloneWithoutNulls).
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "{" + ", ".join(f"{render(k, ctx)}: {render(v, ctx)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        inner = ", ".join(render(v, ctx) for v in value)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    raise TypeError(f"cannot render {type(value).__name__}")


def string_literal(text: str) -> str:
    quote = _quote_for(text)
    return f"{quote}{_escape(text, quote)}{quote}"


def _quote_for(text: str) -> str:
    """The quote ruff format keeps: double, unless single needs fewer escapes."""
    return "'" if text.count('"') > text.count("'") else '"'


def _escape(text: str, quote: str) -> str:
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == quote:
            out.append("\\" + quote)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def _split_text(text: str) -> list[str]:
    """Pieces of at most SPLIT_AT characters, cut after a space where there is one."""
    pieces, start = [], 0
    while len(text) - start > SPLIT_AT:
        cut = text.rfind(" ", start, start + SPLIT_AT)
        cut = cut + 1 if cut > start else start + SPLIT_AT
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def _chunks(parts: Sequence[str | Expr]) -> list[list[str | Expr]]:
    """An f-string's parts cut into pieces of about SPLIT_AT characters, never inside an expression."""
    chunks: list[list[str | Expr]] = [[]]
    size = 0
    for part in parts:
        if isinstance(part, Expr):
            width = len(part.render(Render(split=False))) + 2
            if size + width > SPLIT_AT and chunks[-1]:
                chunks.append([])
                size = 0
            chunks[-1].append(part)
            size += width
            continue
        for piece in _split_text(part) if len(part) > SPLIT_AT else [part]:
            if size + len(piece) > SPLIT_AT and chunks[-1]:
                chunks.append([])
                size = 0
            chunks[-1].append(piece)
            size += len(piece)
    return [c for c in chunks if c]


# ---------------------------------------------------------------------- formatting


def find_ruff() -> str | None:
    """ruff next to the running Python (a virtualenv that is not activated), else on PATH."""
    beside = Path(sys.executable).parent / "ruff"
    return str(beside) if beside.is_file() else shutil.which("ruff")


def format_source(source: str, root: Path, ruff: str | None) -> str:
    """`ruff check --select I --fix` (import order) then `ruff format`, with the project's settings (run in
    `root`); the source as it is when there is no ruff."""
    if ruff is None:
        return source
    source = _ruff(ruff, ["check", "--select", "I", "--fix", "--quiet", "--exit-zero"], source, root)
    source = _ruff(ruff, ["format", "--quiet"], source, root)
    unwrapped = unwrap_lone_strings(source)
    return source if unwrapped == source else _ruff(ruff, ["format", "--quiet"], unwrapped, root)


def _ruff(ruff: str, arguments: list[str], source: str, root: Path) -> str:
    argv = [ruff, *arguments, "--stdin-filename", "dashboards/_obs_import.py", "-"]
    result = subprocess.run(argv, input=source, capture_output=True, text=True, cwd=root, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ruff {arguments[0]} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


# A string literal alone in parentheses (what is left of a split string ruff joined back): the parentheses go.
_STRING = r"""f?(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
_LONE_LINE = re.compile(rf"^(\s*)\(({_STRING})\)(,?)$")
_LONE_AFTER = re.compile(rf"(=|: |\(|\[|, )\(({_STRING})\)(?=[,)\]}}]|$)")


def unwrap_lone_strings(source: str) -> str:
    lines = []
    for line in source.splitlines():
        line = _LONE_LINE.sub(r"\1\2\3", line)
        lines.append(_LONE_AFTER.sub(r"\1\2", line))
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def comment_lines(text: str, indent: str = "") -> list[str]:
    """`text` as `# ` comment lines no longer than LINE_LENGTH."""
    width = LINE_LENGTH - len(indent) - 2
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        words, line = paragraph.split(" "), ""
        for word in words:
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return [f"{indent}# {line}".rstrip() for line in lines]
