"""`wattline config`: the settings in effect (secrets masked), or the README's table of them."""

from __future__ import annotations

import argparse
from enum import Enum

from pydantic import SecretStr

from wattline.settings import Settings, variables

TABLE_HEAD = "| variable | default | meaning |\n|---|---|---|"


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("config", help="show the settings in effect (secrets masked)")
    c.add_argument(
        "--markdown", action="store_true", help="print the README's configuration table instead"
    )
    c.set_defaults(func=_config)


def _config(args: argparse.Namespace, settings: Settings) -> int:
    print(markdown_table() if args.markdown else effective(settings))
    return 0


def markdown_table() -> str:
    rows = [TABLE_HEAD]
    for name, info in variables().items():
        extra = info.json_schema_extra
        shown = extra["shown"] or _shown(info.default)
        if not shown.startswith(("`", "the ", "detect", "unset")) and "`" not in shown:
            shown = f"`{shown}`"
        secret = "; also `_FILE` (a file holding it)" if extra["secret"] else ""
        rows.append(f"| `{name}` | {shown} | {info.description}{secret} |")
    return "\n".join(rows)


def _shown(default) -> str:
    if default is None:
        return "unset"
    if isinstance(default, SecretStr):
        default = default.get_secret_value()
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default == int(default):
        return str(int(default))
    if isinstance(default, Enum):
        return str(default.value)
    return str(default)


def effective(settings: Settings) -> str:
    lines = []
    for (name, info), field in zip(variables().items(), Settings.model_fields, strict=True):
        value = getattr(settings, field)
        if info.json_schema_extra["secret"]:
            value = "unset" if value is None else "(set, not shown)"
        lines.append(f"{name}={'' if value is None else value}")
    return "\n".join(lines)
