"""A small HTTP client of the leaderboard's JSON API (used by the CLI with --url)."""

from __future__ import annotations

from pathlib import Path

import httpx

from autograder.errors import UserError


class ApiClient:
    """Talk to a running leaderboard server at ``url``."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)
        self.url = url

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise UserError(f"cannot reach the leaderboard at {self.url}: {exc}") from None

    def submit(self, csv_path: Path, notebook: Path | None = None) -> tuple[int, dict]:
        """Upload a predictions file (and notebook); return (HTTP status, result JSON)."""
        attached = (notebook.name, notebook.read_bytes()) if notebook is not None else None
        return self.submit_bytes(csv_path.read_bytes(), csv_path.name, attached)

    def submit_bytes(self, data: bytes, filename: str = "predictions.csv",
                     notebook: tuple[str, bytes] | None = None) -> tuple[int, dict]:
        """Upload predictions given as bytes; return (HTTP status, result JSON)."""
        files = {"file": (filename, data, "text/csv")}
        if notebook is not None:
            files["notebook"] = (*notebook, "application/x-ipynb+json")
        response = self._request("POST", "/api/submissions", files=files)
        return response.status_code, self._json(response)

    def board(self, private: bool = False) -> list[dict]:
        """The public (or, for the instructor or after closing, private) board."""
        response = self._request("GET", "/api/board", params={"private": "true"} if private else None)
        if response.status_code != 200:
            raise UserError(f"the server refused the board: {self._json(response).get('detail', response.status_code)}")
        return self._json(response)

    def competition(self) -> dict:
        """The competition's public settings (name, classes, daily limit, closes_at, ...)."""
        response = self._request("GET", "/api/competition")
        if response.status_code != 200:
            raise UserError(f"the server refused the competition settings: HTTP {response.status_code}")
        return self._json(response)

    def _json(self, response: httpx.Response):
        try:
            return response.json()
        except ValueError:
            raise UserError(f"{self.url} answered HTTP {response.status_code} without JSON; "
                            "is it a leaderboard?") from None

    def close(self) -> None:
        self._http.close()
