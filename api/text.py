"""How the seeds write ages and durations for people: "2 minutes ago", "1h 7m"."""

from __future__ import annotations


def duration(seconds: float | None) -> str | None:
    """'1h 7m', '12m', '0m'; days as hours (a session is rarely a day long)."""
    if seconds is None:
        return None
    minutes = max(int(seconds // 60), 0)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def ago(seconds: float | None) -> str | None:
    """'just now', '1 minute ago', '2 minutes ago', '3 hours ago', '2 days ago'."""
    if seconds is None:
        return None
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"  # unreachable: seconds >= 60 matched minute
