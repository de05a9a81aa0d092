"""A Report as terminal text, a pull-request comment (Markdown) or JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from obs.diff.model import Change, Report, Section
from obs.diff.values import fmt


def _grouped(changes: list[Change]) -> Iterator[tuple[tuple[str, str], list[Change]]]:
    """Changes grouped by subject (two panels may share a title: their ids tell them apart), in
    first-seen order."""
    groups: dict[tuple[str, str, Any, Any], list[Change]] = {}
    for change in changes:
        key = (change.subject_kind, change.subject, change.ref.get("old_id"), change.ref.get("new_id"))
        groups.setdefault(key, []).append(change)
    for (kind, name, _, _), group in groups.items():
        yield (kind, name), group


def _subject(kind: str, name: str, changes: list[Change]) -> str:
    if kind.endswith("setting"):
        return name
    if kind == "route":
        return f"route {name}"
    ids = {(c.ref.get("old_id"), c.ref.get("new_id")) for c in changes if "old_id" in c.ref or "new_id" in c.ref}
    suffix = ""
    if len(ids) == 1:
        old_id, new_id = next(iter(ids))
        if old_id is None or new_id is None or old_id == new_id:
            suffix = f" (id {new_id if new_id is not None else old_id})"
        else:
            suffix = f" (id {old_id} -> {new_id})"
    return f'{kind} "{name}"{suffix}'


def _describe(change: Change) -> str:
    """One line for a change, without its diff."""
    if change.action == "added":
        return "added" + (f": {change.new}" if change.new not in (None, "") else "")
    if change.action == "removed":
        return "removed" + (f": {change.old}" if change.old not in (None, "") else "")
    if change.action in ("moved", "resized") and change.field in ("position", "size"):
        return f"{change.action}: {change.old} -> {change.new}" + (f" ({change.note})" if change.note else "")
    if change.action == "moved" and change.field == "row":
        return f"moved to another row: {fmt(change.old)} -> {fmt(change.new)}"
    if change.action == "moved":
        return f"moved ({change.field}): {change.old} -> {change.new}" + (f" ({change.note})" if change.note else "")
    note = f" ({change.note})" if change.note else ""
    if change.diff:
        return f"{change.field}{note}:"
    if change.field in ("thresholds",):
        return f"{change.field}: {change.old or '(none)'} -> {change.new or '(none)'}"
    return f"{change.field}: {fmt(change.old)} -> {fmt(change.new)}{note}"


def _section_heading(section: Section) -> str:
    if section.kind == "dashboard":
        return f'dashboard {section.key} "{section.title}": {section.status}'
    if section.kind == "file":
        return f"{section.key}: {section.status}"
    return f"{section.title} ({', '.join(section.paths)}): {section.status}"


def render_text(report: Report, *, name_only: bool = False) -> str:
    lines: list[str] = []
    if report.base:
        lines.append(f"comparing {report.base} with the {report.head}")
    lines += [f"note: {note}" for note in report.notes]
    for section in report.sections:
        if name_only:
            lines.append(_section_heading(section))
            continue
        lines.append(_section_heading(section))
        if section.kind in ("dashboard", "file") and section.status != "changed":
            detail = section.changes[0].new if section.status == "added" else section.changes[0].old
            if detail:
                lines[-1] += f" ({detail})"
            continue
        for (kind, name), changes in _grouped(section.changes):
            if len(changes) == 1 and not changes[0].diff:
                lines.append(f"  {_subject(kind, name, changes)}: {_describe(changes[0])}")
                continue
            lines.append(f"  {_subject(kind, name, changes)}")
            for change in changes:
                lines.append(f"    {_describe(change)}")
                lines += [f"      {line}" for line in change.diff]
    if lines:
        lines.append("")
    lines.append(report.summary())
    return "\n".join(lines) + "\n"


def _code(text: Any) -> str:
    """Inline code that survives backticks and pipes in the value."""
    value = str(text).replace("\n", " ").replace("|", "\\|")
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<|])", r"\\\1", text)


def _md_value(value: Any) -> str:
    if value is None:
        return "*(unset)*"
    return _code(value if isinstance(value, str) else fmt(value))


def _md_describe(change: Change) -> str:
    if change.action in ("added", "removed"):
        detail = change.new if change.action == "added" else change.old
        return f"**{change.action}**" + (f": {_code(detail)}" if detail not in (None, "") else "")
    note = f" ({_md_escape(change.note)})" if change.note else ""
    if change.action in ("moved", "resized"):
        what = "" if change.field in ("position", "size") else f" ({change.field})"
        return f"**{change.action}**{what}: {_md_value(change.old)} → {_md_value(change.new)}{note}"
    if change.diff:
        return f"{_code(change.field)}{note}:"
    return f"{_code(change.field)}: {_md_value(change.old)} → {_md_value(change.new)}{note}"


def _md_subject(kind: str, name: str, changes: list[Change]) -> str:
    if kind == "route":
        return f"Route {_code(name)}"
    text = _subject(kind, name, changes)
    quoted = f'"{name}"'
    if quoted in text:
        before, _, after = text.partition(quoted)
        return f"{_md_escape(before.capitalize())}{_code(name)}{_md_escape(after)}"
    return _md_escape(text[:1].upper() + text[1:])


def _md_diff(lines: list[str], indent: str) -> list[str]:
    fence = "```"
    while any(fence in line for line in lines):
        fence += "`"
    return [f"{indent}{fence}diff", *(f"{indent}{line}" for line in lines), f"{indent}{fence}"]


def render_markdown(report: Report, *, name_only: bool = False) -> str:
    """A pull-request comment: a heading per dashboard (or rule set), a bullet per change, PromQL and
    other text changes in ```diff blocks, and the summary line."""
    out = ["## Monitoring changes", ""]
    if report.base:
        out += [f"Compared {_md_escape(report.base)} with the {report.head}.", ""]
    out += [f"> **Note:** {_md_escape(note)}" for note in report.notes]
    if report.notes:
        out.append("")
    if not report.changed:
        return "\n".join([*out, "**No changes.**", ""])
    if name_only:
        out += ["| Artifact | Change |", "| --- | --- |"]
        out += [f"| {_md_escape(_section_name(s))} | {s.status} |" for s in report.sections]
        return "\n".join([*out, "", f"**Summary:** {report.summary()}", ""])
    for section in report.sections:
        out += [f"### {_section_name(section, markdown=True)} ({section.status})", ""]
        if section.kind in ("dashboard", "file") and section.status != "changed":
            detail = section.changes[0].new if section.status == "added" else section.changes[0].old
            out += [f"Dashboard {section.status}: {_code(detail)}" if detail else f"File {section.status}.", ""]
            continue
        for (kind, name), changes in _grouped(section.changes):
            subject = _md_subject(kind, name, changes)
            if len(changes) == 1 and not changes[0].diff:
                out.append(f"- **{subject}**: {_md_describe(changes[0])}")
                continue
            out.append(f"- **{subject}**")
            for change in changes:
                out.append(f"  - {_md_describe(change)}")
                if change.diff:
                    out += ["", *_md_diff(change.diff, "    "), ""]
        out.append("")
    out += [f"**Summary:** {report.summary()}", ""]
    return "\n".join(out)


def _section_name(section: Section, markdown: bool = False) -> str:
    if section.kind == "dashboard":
        if markdown:
            return f"Dashboard {_code(section.key)}: {_md_escape(section.title)}"
        return f"Dashboard {section.key}: {section.title}"
    if section.kind == "file":
        return _code(section.key) if markdown else section.key
    paths = ", ".join(_code(p) if markdown else p for p in section.paths)
    return f"{section.title} ({paths})"


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
