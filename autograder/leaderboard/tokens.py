"""Access tokens: fresh high-entropy strings, stored only as their hash."""

from __future__ import annotations

import hashlib
import secrets


def hash_token(token: str) -> str:
    """sha256 of a token: tokens are 256-bit random strings, so a fast hash is enough."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token(prefix: str) -> str:
    """A fresh high-entropy token (``lbs_`` for students, ``lbi_`` for the instructor)."""
    return prefix + secrets.token_urlsafe(32)
