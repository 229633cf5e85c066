"""How the competition's deadline is said to people: one line for pages, the CLI and notebooks."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_utc(text: str | None) -> datetime | None:
    """An ISO 8601 time from the API (``...Z``) as the naive UTC datetime the store uses."""
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def time_left(closes_at: datetime, now: datetime) -> str:
    """``3 days 4 h``, ``5 h 12 min`` or ``8 min``: how long until ``closes_at``."""
    minutes = max(0, int((closes_at - now).total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def deadline_line(closes_at: datetime | None, now: datetime) -> str:
    """One sentence with the deadline (UTC) and the time left, or that it has passed."""
    if closes_at is None:
        return "Deadline: not announced yet (see the competition rules)."
    when = closes_at.strftime("%Y-%m-%d %H:%M UTC")
    if now >= closes_at:
        return f"Deadline: {when} (passed; the competition is closed)."
    return f"Deadline: {when} ({time_left(closes_at, now)} left)."
