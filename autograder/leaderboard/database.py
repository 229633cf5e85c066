"""Where the leaderboard's database is and how it is opened: URLs, engines, sessions.

SQLite runs in WAL mode with ``BEGIN IMMEDIATE`` for writers (threads of one process queue on
a lock first); PostgreSQL uses its own row locks. Times are stored as naive UTC datetimes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session

from autograder.errors import UserError
from autograder.paths import course_root


def utcnow() -> datetime:
    """The current UTC time as a naive datetime (how the database stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(moment: datetime | None) -> str | None:
    """A stored UTC time as ISO 8601 with a ``Z``, to the millisecond."""
    return None if moment is None else moment.isoformat(timespec="milliseconds") + "Z"


def default_database() -> Path:
    """The SQLite file used when no --db is given: ``leaderboard.db`` in the course root."""
    return course_root() / "leaderboard.db"


def database_url(spec: str | Path | None) -> str:
    """A SQLAlchemy URL from a URL, a file path or None (the default SQLite file)."""
    if spec is None:
        spec = default_database()
    spec = str(spec)
    if "://" not in spec:
        return URL.create("sqlite", database=str(Path(spec).expanduser().resolve())).render_as_string()
    try:
        url = make_url(spec)
        url.get_dialect()
    except NoSuchModuleError:  # (a kind of ArgumentError)
        raise UserError(f"not a kind of database this course can use: {url.drivername!r} in "
                        f"{url.render_as_string()!r} (give a SQLite file or a postgresql:// URL)") from None
    except ArgumentError:
        raise UserError(f"not a database URL: {spec!r}") from None
    if url.drivername == "postgresql":  # use psycopg 3, the driver we install
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return spec


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for any other database, or one in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and immediate write transactions.

    Connections from ``engine.execution_options(write=True)`` start with ``BEGIN IMMEDIATE``
    on SQLite, so a writer waits for the lock up front instead of failing half-way; reads
    run in autocommit (a single SELECT needs no transaction of its own).
    """
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True)
    engine = create_engine(url, pool_size=10, max_overflow=30,
                           connect_args={"timeout": 60, "check_same_thread": False})
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=60000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    if connection.get_execution_options().get("write", False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    # reads stay in autocommit: each SELECT sees one consistent snapshot of its own


class Database:
    """One leaderboard database: its engine, a writer that locks up front, and a clock."""

    def __init__(self, url: str, clock: Callable[[], datetime] = utcnow):
        self.url = url
        self.engine = make_engine(url)
        self.writer = self.engine.execution_options(write=True)
        # SQLite has one writer at a time and its busy handler waits by sleeping; threads of
        # this process queue on a lock instead (other processes still meet the busy timeout).
        self.write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()
        self.clock = clock

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """An ORM session for the rare reads of whole objects (hot reads use Core connections)."""
        with Session(self.engine) as session, session.begin():
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """An ORM session in one write transaction (committed on leaving the block)."""
        with self.write_lock, Session(self.writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection in one write transaction, for prepared statements on the hot path."""
        with self.write_lock, self.writer.begin() as conn:
            yield conn
