"""A free TCP port on 127.0.0.1, for the servers the tests start (PostgreSQL, the leaderboard, a
closed port for the downloader)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port no one listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
