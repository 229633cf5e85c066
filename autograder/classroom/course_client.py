"""A student's side of the course server's JSON API: list the released assignments, download one
(the notebook and its data zip, unzipped beside it), hand a notebook in and follow its grading.
``autograder fetch`` and ``autograder submit`` are its command line."""

from __future__ import annotations

import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import httpx

from autograder.errors import UserError


@dataclass(frozen=True)
class Fetched:
    """What :meth:`CourseClient.fetch` wrote: the notebooks and the data files, under ``folder``."""

    folder: Path
    notebooks: list[str]
    data_files: list[str]
    due: str | None  # ISO 8601 UTC, as the server said


class CourseClient:
    """Talk to a running course server at ``url`` with a student's ``token``."""

    def __init__(self, url: str, token: str, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)

    def _get(self, path: str) -> httpx.Response:
        try:
            response = self._http.get(path)
        except httpx.HTTPError as exc:
            raise UserError(f"cannot reach the course server at {self.url}: {exc}") from None
        if response.status_code != 200:
            raise UserError(f"the course server refused {path}: {_detail(response)}")
        return response

    def assignments(self) -> list[dict]:
        """Every released assignment: name, due date, notebook and data URLs."""
        try:
            return self._get("/api/assignments").json()
        except ValueError:
            raise UserError(f"{self.url} answered without JSON; is it the course server (`autograder serve`)?") \
                from None

    def fetch(self, name: str, folder: Path, overwrite: bool = False) -> Fetched:
        """Download ``name``'s notebooks into ``folder`` and unzip its data there; a notebook already in
        ``folder`` (the student's work) is kept unless ``overwrite``."""
        listed = {item["name"]: item for item in self.assignments()}
        if name not in listed:
            raise UserError(f"no released assignment {name!r}; released: {', '.join(listed) or 'none yet'}")
        item = listed[name]
        folder.mkdir(parents=True, exist_ok=True)
        targets = {notebook["name"]: folder / _plain_name(notebook["name"]) for notebook in item["notebooks"]}
        kept = [str(path) for path in targets.values() if path.exists()]
        if kept and not overwrite:
            raise UserError(f"{', '.join(kept)} already exists: your work is kept (pass --force to replace it)")
        bodies = {path: self._get(_on_this_server(notebook["url"])).content
                  for notebook, path in zip(item["notebooks"], targets.values(), strict=True)}
        data = unzip_beside(self._get(_on_this_server(item["data"]["url"])).content, folder) if item["data"] else []
        for path, body in bodies.items():
            path.write_bytes(body)
        return Fetched(folder, list(targets), data, item["due"])

    def hand_in(self, name: str, notebook: Path) -> tuple[bool, dict]:
        """Hand ``notebook`` in for ``name``: (True, the queued attempt) or (False, the server's refusal)."""
        try:
            response = self._http.post(f"/api/assignments/{quote(name, safe='')}/attempts",
                                       files={"notebook": (notebook.name, notebook.read_bytes(),
                                                           "application/x-ipynb+json")})
        except httpx.HTTPError as exc:
            raise UserError(f"cannot reach the course server at {self.url}: {exc}") from None
        if response.status_code == 201:
            return True, response.json()
        if 400 <= response.status_code < 500 and response.status_code != 401:
            return False, {"detail": _detail(response), "status": response.status_code}
        raise UserError(f"the course server refused the notebook: {_detail(response)}")

    def attempt(self, attempt_id: int) -> dict:
        """One of the student's attempts, as it stands now."""
        return self._get(f"/api/attempts/{int(attempt_id)}").json()

    def wait_for(self, attempt_id: int, timeout: float, poll_seconds: float = 0.5) -> dict:
        """The attempt once graded (or as it stands after ``timeout`` seconds)."""
        give_up = time.monotonic() + timeout
        while True:
            attempt = self.attempt(attempt_id)
            if attempt["state"] in ("done", "failed") or time.monotonic() > give_up:
                return attempt
            time.sleep(poll_seconds)

    def close(self) -> None:
        """Close the connection."""
        self._http.close()


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", f"HTTP {response.status_code}"))
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"


def _on_this_server(url: str) -> str:
    """``url`` when it is a path on the same server (the token is never sent anywhere else)."""
    if not isinstance(url, str) or not url.startswith("/") or url.startswith("//") or "\\" in url:
        raise UserError(f"the course server sent a download address that is not on it: {url!r}")
    return url


def _plain_name(name: str) -> str:
    if PurePosixPath(name).name != name or name.startswith(".") or "\\" in name:
        raise UserError(f"the course server sent a file name that is not plain: {name!r}")
    return name


def unzip_beside(body: bytes, folder: Path) -> list[str]:
    """Extract a data zip into ``folder``, refusing any entry that would land outside it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
    except zipfile.BadZipFile:
        raise UserError("the course server sent a data zip that is not a zip file") from None
    with archive:
        names = [entry.filename for entry in archive.infolist() if not entry.is_dir()]
        for name in names:
            path = PurePosixPath(name)
            if path.is_absolute() or ".." in path.parts or "\\" in name or not path.parts:
                raise UserError(f"the data zip holds {name!r}, which would land outside {folder}")
        archive.extractall(folder, members=names)
    return names
