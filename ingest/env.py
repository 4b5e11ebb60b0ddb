"""Reading typed settings from environment variables, for the ingest configs and the CLI.
A bad value stops the program with a message naming the variable, never a traceback."""

from __future__ import annotations

from collections.abc import Mapping


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name}={value!r}: expected true or false")


def positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name, str(default))
    try:
        number = float(value)
    except ValueError:
        raise SystemExit(f"{name}={value!r} is not a number") from None
    if number <= 0:
        raise SystemExit(f"{name} must be positive")
    return number
