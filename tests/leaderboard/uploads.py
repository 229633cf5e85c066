"""Malformed uploads for the fuzz tests of the web app (in-process and over real HTTP)."""

from __future__ import annotations

import re

from hypothesis import strategies as st

from autograder.leaderboard.scoring import AnswerKey
from tests.leaderboard.boards import csv_bytes


def malformed_uploads(key: AnswerKey, valid_token: str, max_bytes: int, notebook_limit: int):
    """A hypothesis strategy of ``(kind, request kwargs, expected status, words in the message)``
    for POST /api/submissions; every one of them must be refused and store nothing."""

    lines = csv_bytes(key, key.labels).decode().splitlines()
    n = len(lines) - 1
    ids = set(key.ids)
    safe_text = st.text(st.characters(exclude_characters=',"\r\n\x00', exclude_categories=("Cs",)), max_size=12)
    auth = {"Authorization": f"Bearer {valid_token}"}

    def upload(text_or_bytes, headers=auth, **extra):
        data = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
        return {"files": {"file": ("predictions.csv", data, "text/csv"), **extra}, "headers": headers}

    def with_line(index, line):
        copy = list(lines)
        copy[index] = line
        return "\n".join(copy) + "\n"

    row = st.integers(1, n)
    label = lambda i: lines[i].split(",")[1]  # noqa: E731
    ident = lambda i: lines[i].split(",")[0]  # noqa: E731

    def mutate(kind, draw):
        if kind == "drop_rows":
            drop = set(draw(st.lists(row, min_size=1, max_size=5)))
            return upload("\n".join(line for i, line in enumerate(lines) if i not in drop)), 422, "missing"
        if kind == "duplicate_id":
            i, j = draw(st.lists(row, min_size=2, max_size=2, unique=True))
            return upload(with_line(j, f"{ident(i)},{label(j)}")), 422, "appears again"
        if kind == "unknown_id":
            i, new = draw(row), draw(safe_text.filter(lambda text: text not in ids))
            return upload(with_line(i, f"{new},{label(i)}")), 422, "unknown id"
        if kind == "label_not_integer":
            i = draw(row)
            text = draw(safe_text.filter(lambda t: not re.fullmatch(r"[+-]?[0-9]{1,9}", t)))
            return upload(with_line(i, f"{ident(i)},{text}")), 422, "not an integer"
        if kind == "label_out_of_range":
            i = draw(row)
            value = draw(st.one_of(st.integers(key.n_classes, 999_999_999), st.integers(-999_999_999, -1)))
            return upload(with_line(i, f"{ident(i)},{value}")), 422, "out of range"
        if kind == "extra_field":
            i = draw(row)
            return upload(with_line(i, lines[i] + "," + draw(safe_text))), 422, "expected 2 fields"
        if kind == "missing_field":
            i = draw(row)
            return upload(with_line(i, ident(i))), 422, "expected 2 fields"
        if kind == "bad_header":
            header = draw(st.text(st.characters(exclude_characters='"\r\n\x00', exclude_categories=("Cs",)),
                                  max_size=20).filter(lambda t: t.split(",") != ["id", "label"]))
            return upload(with_line(0, header)), 422, "header"
        if kind == "invalid_utf8":
            data = "\n".join(lines).encode()
            at = draw(st.integers(0, len(data)))
            return upload(data[:at] + bytes([draw(st.integers(0x80, 0xFF))]) + data[at:]), 422, "UTF-8"
        if kind == "blank_line_inside":
            copy = list(lines)
            copy.insert(draw(st.integers(1, n - 1)), draw(st.sampled_from(["", "", " "])))
            return upload("\n".join(copy)), 422, "line"
        if kind == "truncated":
            data = ("\n".join(lines) + "\n").encode()
            return upload(data[: draw(st.integers(0, len(data) - 3))]), 422, ""
        if kind == "semicolons":
            return upload("\n".join(line.replace(",", ";") for line in lines)), 422, "header"
        if kind == "float_labels":
            i = draw(row)
            return upload(with_line(i, f"{ident(i)},{label(i)}.0")), 422, "not an integer"
        if kind == "random_bytes":
            return upload(draw(st.binary(max_size=400))), 422, ""
        if kind == "oversized":
            padding = b"\n" * (max_bytes + 1 - len("\n".join(lines)) + draw(st.integers(0, 3000)))
            return upload(("\n".join(lines)).encode() + padding), 413, "limit"
        if kind == "bad_notebook":
            notebook = draw(st.one_of(st.binary(max_size=200), st.just(b'{"cells": {}}'), st.just(b"[]"),
                                      st.just(b"x" * (notebook_limit + 1))))
            request = upload("\n".join(lines), notebook=("model.ipynb", notebook, "application/json"))
            return request, (413 if len(notebook) > notebook_limit else 422), "notebook"
        if kind == "no_file_part":
            return {"data": {"file": "\n".join(lines)}, "headers": auth}, 400, "file"
        if kind == "wrong_field_name":
            return {"files": {"predictions": ("p.csv", "\n".join(lines).encode())}, "headers": auth}, 400, "file"
        if kind == "broken_multipart":
            body = draw(st.binary(max_size=200))
            headers = {**auth, "Content-Type": f"multipart/form-data; boundary={draw(st.sampled_from(['x', 'zz']))}"}
            return {"content": body, "headers": headers}, 400, "file"
        if kind == "json_body":
            return {"json": {"file": "\n".join(lines)}, "headers": auth}, 400, "file"
        if kind == "bad_token":
            token = draw(st.one_of(st.just(""), st.text(st.characters(min_codepoint=33, max_codepoint=126),
                                                        max_size=60), st.just(valid_token[:-1])))
            headers = {"Authorization": f"Bearer {token}".strip()} if draw(st.booleans()) else {}
            return upload("\n".join(lines), headers=headers), 401, "token"
        raise AssertionError(kind)

    kinds = ["drop_rows", "duplicate_id", "unknown_id", "label_not_integer", "label_out_of_range",
             "extra_field", "missing_field", "bad_header", "invalid_utf8", "blank_line_inside", "truncated",
             "semicolons", "float_labels", "random_bytes", "oversized", "bad_notebook", "no_file_part",
             "wrong_field_name", "broken_multipart", "json_body", "bad_token"]

    @st.composite
    def strategy(draw):
        kind = draw(st.sampled_from(kinds))
        request, status, words = mutate(kind, draw)
        return kind, request, status, words

    return strategy()
