"""Give a submitted notebook the released nbgrader structure, so that it can always be graded
and recorded.

A student's notebook can carry anything in its nbgrader metadata: a copy-pasted test cell (two
cells with one ``grade_id``), a ``grade_id`` retyped or invented, a grade cell added by hand,
metadata that is missing, garbled or of another schema version, points as text or out of
range, a solution cell turned into a grade cell, and cells or outputs that are not even
well-formed. nbgrader's preprocessors then fail (KeyError, ValidationError, IntegrityError).

:func:`reset_structure` returns a well-formed notebook in which the released nbgrader cells, and
only they, carry nbgrader metadata: each exactly once (its first occurrence), with the released
metadata and cell type; every other cell becomes a plain cell keeping the student's text.
Released grade and task cells the submission lacks can be put back in the released order (they
earn nothing: the caller scores them 0). Nothing here can raise for what a submission holds.
"""

from __future__ import annotations

import copy
import json
import re

import nbformat
from nbformat.notebooknode import NotebookNode, from_dict
from nbformat.validator import ValidationError

from autograder.grading.notebook import MAX_NOTEBOOK_BYTES

CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
MIME_TEXT = re.compile(r"^(text/.*|image/(png|jpeg|gif|svg\+xml))$")


def nbgrader_info(cell) -> dict:
    """A cell's nbgrader metadata when it is a dict, else an empty dict."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    info = meta.get("nbgrader") if isinstance(meta, dict) else None
    return info if isinstance(info, dict) else {}


def grade_id_of(cell) -> str | None:
    """A cell's ``grade_id`` when it is a non-empty string."""
    grade_id = nbgrader_info(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) and grade_id else None


def released_cells(released) -> dict[str, NotebookNode]:
    """grade_id -> released nbgrader cell, in the released order."""
    found: dict[str, NotebookNode] = {}
    for cell in released.cells:
        grade_id = grade_id_of(cell)
        if grade_id and grade_id not in found:
            found[grade_id] = cell
    return found


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part if isinstance(part, str) else str(part) for part in value)
    return "" if value is None else str(value)


def _mime_data(data) -> dict:
    if not isinstance(data, dict):
        return {}
    kept = {}
    for mime, value in data.items():
        if not isinstance(mime, str):
            continue
        if mime.endswith("json"):
            kept[mime] = value if isinstance(value, (dict, list)) else {}
        elif MIME_TEXT.match(mime) or isinstance(value, (str, list)):
            kept[mime] = _text(value)
    return kept


def _count(value) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _output(output) -> NotebookNode | None:
    """A well-formed copy of one output, or None when it is not an output at all."""
    try:
        return _made_output(output)
    except ValidationError:
        return None


def _made_output(output) -> NotebookNode | None:
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=_text(output.get("text")))
    if kind == "error":
        traceback = output.get("traceback")
        traceback = [_text(line) for line in traceback] if isinstance(traceback, list) else []
        return nbformat.v4.new_output("error", ename=_text(output.get("ename")),
                                      evalue=_text(output.get("evalue")), traceback=traceback)
    if kind in ("execute_result", "display_data"):
        metadata = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
        made = nbformat.v4.new_output(kind, data=_mime_data(output.get("data")), metadata=metadata)
        if kind == "execute_result":
            made.execution_count = _count(output.get("execution_count"))
        return made
    return None


def _plain_cell(cell: dict, kind: str) -> NotebookNode:
    """A plain cell of type ``kind`` with the student's text, outputs and tags, no nbgrader metadata."""
    source = _text(cell.get("source"))
    meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    tags = meta.get("tags")
    metadata = {"tags": list(tags)} if isinstance(tags, list) and all(isinstance(t, str) for t in tags) else {}
    if kind == "code":
        outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
        made = nbformat.v4.new_code_cell(source, metadata=metadata,
                                         outputs=[o for o in map(_output, outputs) if o is not None],
                                         execution_count=_count(cell.get("execution_count")))
    elif kind == "markdown":
        made = nbformat.v4.new_markdown_cell(source, metadata=metadata)
        attachments = cell.get("attachments")
        if isinstance(attachments, dict):
            try:
                nbformat.v4.nbbase.validate({**made, "attachments": attachments}, "markdown_cell")
            except ValidationError:
                pass  # attachments that are not well-formed are dropped
            else:
                made.attachments = from_dict(copy.deepcopy(attachments))
    else:
        made = nbformat.v4.new_raw_cell(source, metadata=metadata)
    if isinstance(cell.get("id"), str):
        made.id = cell["id"]
    return made


def _as_released(cell: dict, original: NotebookNode) -> NotebookNode:
    """The student's cell with the released cell's type and metadata (nbgrader's included)."""
    made = _plain_cell(cell, original.cell_type)
    made.metadata = from_dict(copy.deepcopy(dict(original.metadata)))
    return made


def _restored(original: NotebookNode) -> NotebookNode:
    """A fresh copy of a released cell, for one the submission lacks."""
    made = _plain_cell({"source": original.source}, original.cell_type)
    made.metadata = from_dict(copy.deepcopy(dict(original.metadata)))
    return made


def _restorable(cell: NotebookNode) -> bool:
    info = nbgrader_info(cell)
    return bool(info.get("grade") or info.get("task"))


def _restore_missing(cells: list, released: dict[str, NotebookNode], present: set) -> list[str]:
    """Insert the released grade and task cells missing from ``cells``, each after the released
    cell that precedes it; return their grade_ids."""
    missing = []
    position = -1
    for grade_id, original in released.items():
        if grade_id in present:
            position = next(i for i, c in enumerate(cells) if grade_id_of(c) == grade_id)
        elif _restorable(original):
            position += 1
            cells.insert(position, _restored(original))
            missing.append(grade_id)
    return missing


def _unique_ids(cells: list, minor: int) -> None:
    """nbformat 4.5+ cell ids: each valid and unique (invalid or repeated ones are replaced)."""
    seen = set()
    for cell in cells:
        if minor < 5:
            cell.pop("id", None)
            continue
        if not (isinstance(cell.get("id"), str) and CELL_ID.match(cell.id)) or cell.id in seen:
            cell.id = nbformat.v4.new_code_cell().id
            while cell.id in seen:
                cell.id = nbformat.v4.new_code_cell().id
        seen.add(cell.id)


def reset_structure(nb, released, restore_missing: bool = True) -> tuple[NotebookNode, list[str]]:
    """``nb`` (a parsed notebook, however malformed) with the released nbgrader structure.

    Returns the new notebook and the grade_ids of the released grade and task cells that were
    missing and were put back (only with ``restore_missing``). Notebook metadata is the
    released one.
    """
    originals = released_cells(released)
    cells, present = [], set()
    for cell in nb.get("cells") if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else []:
        if not isinstance(cell, dict):
            continue
        grade_id = grade_id_of(cell)
        if grade_id in originals and grade_id not in present:
            present.add(grade_id)
            cells.append(_as_released(cell, originals[grade_id]))
        else:
            kind = cell.get("cell_type")
            cells.append(_plain_cell(cell, kind if kind in ("code", "markdown") else "raw"))
    missing = _restore_missing(cells, originals, present) if restore_missing else []
    minor = released.get("nbformat_minor", 5)
    _unique_ids(cells, minor)
    made = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(dict(released.metadata)))
    made.nbformat_minor = minor
    return made, missing


def parse_notebook(data: bytes | str) -> dict | None:
    """The JSON object of a notebook file (nbformat 4) with a list of cells, or None."""
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) and isinstance(parsed.get("cells"), list) else None


def normalized_submission(data: bytes, released) -> bytes:
    """A submission's bytes with the released nbgrader structure (nothing put back), ready to grade.

    Bytes that are not a notebook, or too large for the grader, are returned unchanged: the
    grader reports why.
    """
    parsed = parse_notebook(data) if len(data) <= MAX_NOTEBOOK_BYTES else None
    if parsed is None:
        return data
    nb, _ = reset_structure(parsed, released, restore_missing=False)
    made = json.dumps(nb, ensure_ascii=False).encode("utf-8")
    return made if len(made) <= MAX_NOTEBOOK_BYTES else data
