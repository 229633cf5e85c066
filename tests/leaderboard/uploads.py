"""Malformed uploads for the fuzz tests of the web app (in-process and over real HTTP)."""

from __future__ import annotations

import re

from hypothesis import strategies as st

from autograder.leaderboard.scoring import AnswerKey
from tests.leaderboard.boards import csv_bytes

SAFE_TEXT = st.text(st.characters(exclude_characters=',"\r\n\x00', exclude_categories=("Cs",)), max_size=12)


class Malformed:
    """The ways to get an upload wrong: each ``kind_<name>(draw)`` returns ``(request kwargs, expected
    status, words in the message)`` for one drawn example of that kind."""

    def __init__(self, key: AnswerKey, valid_token: str, max_bytes: int, notebook_limit: int):
        self.key, self.valid_token, self.max_bytes, self.notebook_limit = key, valid_token, max_bytes, notebook_limit
        self.lines = csv_bytes(key, key.labels).decode().splitlines()
        self.row = st.integers(1, len(self.lines) - 1)
        self.auth = {"Authorization": f"Bearer {valid_token}"}

    @classmethod
    def kinds(cls) -> list[str]:
        return sorted(name.removeprefix("kind_") for name in vars(cls) if name.startswith("kind_"))

    # -- building requests --
    def upload(self, text_or_bytes, headers=None, **extra) -> dict:
        data = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
        return {"files": {"file": ("predictions.csv", data, "text/csv"), **extra},
                "headers": self.auth if headers is None else headers}

    def body(self) -> str:
        return "\n".join(self.lines)

    def with_line(self, index: int, line: str) -> str:
        copy = list(self.lines)
        copy[index] = line
        return "\n".join(copy) + "\n"

    def label(self, i: int) -> str:
        return self.lines[i].split(",")[1]

    def ident(self, i: int) -> str:
        return self.lines[i].split(",")[0]

    # -- the file's rows --
    def kind_drop_rows(self, draw):
        drop = set(draw(st.lists(self.row, min_size=1, max_size=5)))
        return self.upload("\n".join(line for i, line in enumerate(self.lines) if i not in drop)), 422, "missing"

    def kind_duplicate_id(self, draw):
        i, j = draw(st.lists(self.row, min_size=2, max_size=2, unique=True))
        return self.upload(self.with_line(j, f"{self.ident(i)},{self.label(j)}")), 422, "appears again"

    def kind_unknown_id(self, draw):
        ids = set(self.key.ids)
        i, new = draw(self.row), draw(SAFE_TEXT.filter(lambda text: text not in ids))
        return self.upload(self.with_line(i, f"{new},{self.label(i)}")), 422, "unknown id"

    def kind_label_not_integer(self, draw):
        i = draw(self.row)
        text = draw(SAFE_TEXT.filter(lambda t: not re.fullmatch(r"[+-]?[0-9]{1,9}", t)))
        return self.upload(self.with_line(i, f"{self.ident(i)},{text}")), 422, "not an integer"

    def kind_label_out_of_range(self, draw):
        i = draw(self.row)
        value = draw(st.one_of(st.integers(self.key.n_classes, 999_999_999), st.integers(-999_999_999, -1)))
        return self.upload(self.with_line(i, f"{self.ident(i)},{value}")), 422, "out of range"

    def kind_float_labels(self, draw):
        i = draw(self.row)
        return self.upload(self.with_line(i, f"{self.ident(i)},{self.label(i)}.0")), 422, "not an integer"

    def kind_extra_field(self, draw):
        i = draw(self.row)
        return self.upload(self.with_line(i, self.lines[i] + "," + draw(SAFE_TEXT))), 422, "expected 2 fields"

    def kind_missing_field(self, draw):
        i = draw(self.row)
        return self.upload(self.with_line(i, self.ident(i))), 422, "expected 2 fields"

    # -- the file as a whole --
    def kind_bad_header(self, draw):
        header = draw(st.text(st.characters(exclude_characters='"\r\n\x00', exclude_categories=("Cs",)),
                              max_size=20).filter(lambda t: t.split(",") != ["id", "label"]))
        return self.upload(self.with_line(0, header)), 422, "header"

    def kind_invalid_utf8(self, draw):
        data = self.body().encode()
        at = draw(st.integers(0, len(data)))
        return self.upload(data[:at] + bytes([draw(st.integers(0x80, 0xFF))]) + data[at:]), 422, "UTF-8"

    def kind_blank_line_inside(self, draw):
        copy = list(self.lines)
        copy.insert(draw(st.integers(1, len(self.lines) - 2)), draw(st.sampled_from(["", "", " "])))
        return self.upload("\n".join(copy)), 422, "line"

    def kind_truncated(self, draw):
        data = (self.body() + "\n").encode()
        return self.upload(data[: draw(st.integers(0, len(data) - 3))]), 422, ""

    def kind_semicolons(self, draw):
        return self.upload("\n".join(line.replace(",", ";") for line in self.lines)), 422, "header"

    def kind_random_bytes(self, draw):
        return self.upload(draw(st.binary(max_size=400))), 422, ""

    def kind_oversized(self, draw):
        padding = b"\n" * (self.max_bytes + 1 - len(self.body()) + draw(st.integers(0, 3000)))
        return self.upload(self.body().encode() + padding), 413, "limit"

    def kind_bad_notebook(self, draw):
        notebook = draw(st.one_of(st.binary(max_size=200), st.just(b'{"cells": {}}'), st.just(b"[]"),
                                  st.just(b"x" * (self.notebook_limit + 1))))
        request = self.upload(self.body(), notebook=("model.ipynb", notebook, "application/json"))
        return request, (413 if len(notebook) > self.notebook_limit else 422), "notebook"

    # -- the request around it --
    def kind_no_file_part(self, draw):
        return {"data": {"file": self.body()}, "headers": self.auth}, 400, "file"

    def kind_wrong_field_name(self, draw):
        return {"files": {"predictions": ("p.csv", self.body().encode())}, "headers": self.auth}, 400, "file"

    def kind_broken_multipart(self, draw):
        boundary = draw(st.sampled_from(["x", "zz"]))
        headers = {**self.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        return {"content": draw(st.binary(max_size=200)), "headers": headers}, 400, "file"

    def kind_json_body(self, draw):
        return {"json": {"file": self.body()}, "headers": self.auth}, 400, "file"

    def kind_bad_token(self, draw):
        token = draw(st.one_of(st.just(""), st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=60),
                               st.just(self.valid_token[:-1])))
        headers = {"Authorization": f"Bearer {token}".strip()} if draw(st.booleans()) else {}
        return self.upload(self.body(), headers=headers), 401, "token"


def malformed_uploads(key: AnswerKey, valid_token: str, max_bytes: int, notebook_limit: int):
    """A hypothesis strategy of ``(kind, request kwargs, expected status, words in the message)``
    for POST /api/submissions; every one of them must be refused and store nothing."""
    malformed = Malformed(key, valid_token, max_bytes, notebook_limit)

    @st.composite
    def strategy(draw):
        kind = draw(st.sampled_from(Malformed.kinds()))
        request, status, words = getattr(malformed, f"kind_{kind}")(draw)
        return kind, request, status, words

    return strategy()
