"""Operator sign-in: one shared password from WATTLINE_OPERATOR_PASSWORD. Without it nobody can
send commands, so a dashboard exposed by accident cannot reset chargers."""

from __future__ import annotations

import hmac


def commands_enabled(operator_password: str | None) -> bool:
    return bool(operator_password)


def check_password(given: str, operator_password: str | None) -> bool:
    if not operator_password:
        return False
    # Constant time, so the comparison leaks nothing about how much of the password matched.
    return hmac.compare_digest(given.encode(), operator_password.encode())
