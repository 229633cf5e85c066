"""The instructor's secret: the randomness behind everything students must not regenerate.

The public seed in datasets.json draws what students receive with labels (train/valid, the
homework's test split). Everything instructor-only (the homework's held-out drawings, the
competition's test draw, its public/private split, its ids and jitter, the verification set)
is drawn from a 256-bit secret instead. ``prepare`` creates it on first use in
``OUT/instructor/secret`` (mode 0600, folder 0700, gitignored with the rest of instructor/);
``--secret-file`` supplies a saved copy for a byte-identical re-prepare.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.errors import UserError

SECRET_NAME = "secret"
SECRET_BYTES = 32
HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Secret:
    """The instructor's key and where it came from."""

    key: bytes
    path: Path | None = None  # the file it lives in (None: given in memory, e.g. by a test)
    created: bool = False  # True when this run made it

    @property
    def id(self) -> str:
        """A public fingerprint (recorded in manifests); reveals nothing about the key."""
        return hashlib.sha256(b"quickdraw-secret-id\0" + self.key).hexdigest()[:16]

    def rng(self, *words: str) -> np.random.Generator:
        """A generator determined by the key and the given words (class, dataset, split names)."""
        digest = hashlib.sha256(b"\0".join([self.key, *(w.encode() for w in words)])).digest()
        return np.random.default_rng([int(word) for word in np.frombuffer(digest, dtype=">u4")])


def read_secret(path: str | Path) -> bytes:
    """The key stored in ``path`` (64 hexadecimal digits); a one-line UserError otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise UserError(f"secret file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"secret file {path} is not readable ({' '.join(str(exc).split())})") from None
    if not HEX.match(text):
        raise UserError(f"secret file {path} must hold 64 hexadecimal digits (as written by prepare)")
    return bytes.fromhex(text)


def store_secret(secret: Secret) -> None:
    """Write a secret made or copied by :func:`resolve_secret` to its file (owner-only, 0600)."""
    if not secret.created or secret.path is None:
        return
    secret.path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(secret.path.parent, 0o700)
    fd = os.open(secret.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret.key.hex() + "\n")


def resolve_secret(instructor: Path, given: bytes | str | Path | None = None) -> Secret:
    """The secret for an output whose instructor folder is ``instructor``.

    ``given`` is a key (bytes, used as it is and stored nowhere), a secret file to use
    (to be copied into ``instructor/secret`` when that is absent), or None: the stored one,
    made at random on first use. A new or copied secret has ``created`` set and is written
    by :func:`store_secret` once the data is about to be built.
    """
    stored = instructor / SECRET_NAME
    if isinstance(given, bytes):
        if len(given) < 16:
            raise UserError("the secret must be at least 16 bytes")
        return Secret(given)
    if given is not None:
        key = read_secret(given)
        if stored.exists() and read_secret(stored) != key:
            raise UserError(
                f"{stored} holds a different secret than {given}; the data there was drawn with it. "
                f"Move it away (keep a copy) to prepare with {given}"
            )
        return Secret(key, stored, created=not stored.exists())
    if stored.exists():
        return Secret(read_secret(stored), stored)
    return Secret(secrets.token_bytes(SECRET_BYTES), stored, created=True)
