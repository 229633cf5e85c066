"""Read the class roster: nbgrader's student list (gradebook) or a CSV file."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from autograder.errors import UserError

ID_COLUMNS = ("id", "student_id", "student")


@dataclass(frozen=True)
class RosterEntry:
    """One student: the nbgrader student id, and optionally a board name, email and team."""

    student_id: str
    display_name: str | None = None
    email: str | None = None
    team: str | None = None


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def check_team_sizes(entries: list[RosterEntry], limit: int, source: str = "the roster") -> None:
    """Refuse a roster where a team has more than ``limit`` distinct students (one line)."""
    members: dict[str, set[str]] = {}
    for entry in entries:
        if entry.team:
            members.setdefault(entry.team, set()).add(entry.student_id)
    for team, students in members.items():
        if len(students) > limit:
            raise UserError(f"{source}: team {team!r} has {len(students)} members "
                            f"({', '.join(sorted(students))}); teams have at most {limit}")


def read_roster_csv(path: Path) -> list[RosterEntry]:
    """Read a CSV with a header: ``id`` (or ``student_id``/``student``) and optional
    ``display_name``, ``email``, ``team`` columns.

    The board shows ``display_name`` (or the student id); real names are never put on it.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = reader.fieldnames or []
            id_column = next((name for name in ID_COLUMNS if name in fields), None)
            if id_column is None:
                raise UserError(f"{path}: the header needs an `id` column (got {','.join(fields) or 'nothing'})")
            entries = []
            for line, row in enumerate(reader, start=2):
                student = _clean(row.get(id_column))
                if student is None:
                    raise UserError(f"{path}: line {line} has no student id")
                entries.append(RosterEntry(student, _clean(row.get("display_name")), _clean(row.get("email")),
                                           _clean(row.get("team"))))
    except FileNotFoundError:
        raise UserError(f"no roster file {path}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: the roster is not UTF-8 text") from None
    return entries


def read_gradebook(url: str) -> list[RosterEntry]:
    """Students from an nbgrader gradebook (a database URL or a path to gradebook.db).

    Board names default to the student ids; students can pick a display name on the web.
    """
    from nbgrader.api import Gradebook  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    if "://" not in url:
        path = Path(url)
        if not path.is_file():
            raise UserError(f"no nbgrader gradebook at {path}")
        url = URL.create("sqlite", database=str(path.resolve())).render_as_string()
    with Gradebook(url) as gradebook:
        students = gradebook.students
        entries = [RosterEntry(student.id, email=_clean(student.email)) for student in students]
    if not entries:
        raise UserError(f"the gradebook {url} lists no students (add them with `nbgrader db student add`)")
    return entries
