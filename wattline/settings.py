"""Every setting wattline reads, typed and validated in one place (pydantic-settings).

Where a value comes from, first found wins: the process environment; ``NAME_FILE`` in it, for a
secret (a path whose content is the value: Docker and Kubernetes secrets); the ``.env`` file in
the working directory (or ``WATTLINE_ENV_FILE``), likewise ``NAME`` then ``NAME_FILE``; the
default. An empty value counts as unset. A bad value stops the program with one line naming the
variable (never a traceback, never a secret's value). The README's configuration table is
generated from the fields below (``wattline config --markdown``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://127.0.0.1:5432/wattline"
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
ENV_FILE_VARIABLE = "WATTLINE_ENV_FILE"
_TEN_YEARS_S = 10 * 365.25 * 86400


# --- value types: each parser says what it expected, the caller adds the variable's name -------


def _number(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise ValueError("is not a number") from None


def _positive(value: Any) -> float:
    number = _number(value)
    if not number > 0 or math.isinf(number):  # also NaN
        raise ValueError("must be positive")
    return number


def _whole(lo: int, hi: int):
    def parse(value: Any) -> int:
        number = _number(value)
        if number != int(number) or not lo <= number <= hi:
            raise ValueError(f"expected a whole number from {lo} to {hi}")
        return int(number)

    return BeforeValidator(parse)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _seconds_ahead(value: Any) -> float:
    seconds = _positive(value)
    if not seconds < _TEN_YEARS_S:
        raise ValueError("expected seconds, less than ten years")
    return seconds


def _min_time(value: Any) -> datetime:
    from ingest.clock import aware_time

    if isinstance(value, datetime):
        return value
    text = str(value)
    try:
        if len(text) == 10:
            return datetime.fromisoformat(text + "T00:00:00+00:00")
        return aware_time(text)
    except ValueError:
        raise ValueError("expected a date (2000-01-01) or an ISO-8601 time with a zone") from None


def _seconds_or_none(value: Any) -> float:
    seconds = _number(value)
    if not 0 <= seconds < math.inf:
        raise ValueError("seconds, 0 or more")
    return seconds


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError("is not a number") from None


def _settlement_minutes(value: Any) -> int:
    text = str(value)
    if not text.isdigit() or int(text) == 0 or 1440 % int(text):
        raise ValueError("a whole number of minutes dividing a day")
    return int(text)


def _interval_s(value: Any) -> int:
    text = str(value)
    if not text.isdigit() or int(text) == 0:
        raise ValueError("a whole number of seconds > 0")
    return int(text)


def _time_zone(value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    text = str(value).strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as Asia/Kolkata or UTC") from None
    return text


def _http_url(value: Any) -> Any:
    text = value.get_secret_value() if isinstance(value, SecretStr) else str(value).strip()
    if text and not text.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return text


def _mqtt_url(value: Any) -> Any:
    text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    if text.partition("://")[0] not in ("mqtt", "tcp", "mqtts", "ssl"):
        raise ValueError("expected mqtt:// or mqtts://host:port")
    return text


MIN_API_SECRET_BYTES = 32  # HS256 keys shorter than the hash are guessable (RFC 7518 3.2)


def _api_secret(value: Any) -> Any:
    text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    if len(text.encode()) < MIN_API_SECRET_BYTES:
        raise ValueError(f"must be at least {MIN_API_SECRET_BYTES} bytes long")
    return text


Positive = Annotated[float, BeforeValidator(_positive)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Port = Annotated[int, _whole(0, 65535)]
Count = Annotated[int, _whole(1, 2**62)]


def var(name: str, default: Any, doc: str, shown: str | None = None, secret: bool = False):
    """A setting read from ``name``; ``shown`` is its default as the README prints it."""
    extra = {"shown": shown, "secret": secret}
    return Field(default, validation_alias=name, description=doc, json_schema_extra=extra)


class Settings(BaseSettings):
    """One object with every setting; built by :meth:`from_env`."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # --- database and jobs ---
    database_secret: SecretStr = var(
        "DATABASE_URL", SecretStr(DEFAULT_DATABASE_URL),
        "the database (owner role); `wattline migrate` creates it if missing",
        shown=DEFAULT_DATABASE_URL, secret=True,
    )  # fmt: skip
    db_password: SecretStr | None = var(
        "WATTLINE_DB_PASSWORD", None,
        "the owner role's password, for a `DATABASE_URL` written without one (compose secrets)",
        secret=True,
    )  # fmt: skip
    storage: Literal["timescale", "postgres"] | None = var(
        "WATTLINE_STORAGE", None,
        "`timescale` or `postgres`; forcing `timescale` where the extension is missing is an error",
        shown="detect",
    )  # fmt: skip
    jobs_interval_s: Positive = var(
        "WATTLINE_JOBS_INTERVAL", 30.0, "seconds between passes of `wattline jobs`"
    )
    reader_url_secret: SecretStr | None = var(
        "WATTLINE_READER_URL", None,
        "what the dashboard reads through (read-only role)",
        shown="`DATABASE_URL` as `wattline_reader`", secret=True,
    )  # fmt: skip
    reader_password: SecretStr | None = var(
        "WATTLINE_READER_PASSWORD", None,
        "`wattline_reader`'s password, for a `WATTLINE_READER_URL` written without one or the "
        "reader URL made from `DATABASE_URL`",
        secret=True,
    )  # fmt: skip
    operator_password: SecretStr | None = var(
        "WATTLINE_OPERATOR_PASSWORD", None,
        "operator sign-in for dashboard commands; unset = commands disabled", secret=True,
    )  # fmt: skip
    dashboard_password: SecretStr | None = var(
        "WATTLINE_DASHBOARD_PASSWORD", None,
        "shared password for reading the dashboard; unset = reads open to whoever reaches it "
        "(an OIDC `[auth]` section in `.streamlit/secrets.toml` takes its place)", secret=True,
    )  # fmt: skip
    dashboard_refresh_s: Positive = var(
        "WATTLINE_DASHBOARD_REFRESH", 5.0, "seconds between live refreshes of cards and estimators"
    )
    site_tz: Annotated[str, BeforeValidator(_time_zone)] = var(
        "WATTLINE_SITE_TZ", "Asia/Kolkata",
        "IANA time zone the dashboard shows times in (each time column names it)",
    )  # fmt: skip
    # --- OCPP central system ---
    ocpp_host: str = var("WATTLINE_OCPP_HOST", "0.0.0.0", "where `wattline ocpp` listens")
    ocpp_port: Port = var(
        "WATTLINE_OCPP_PORT",
        9000,
        "the port `wattline ocpp` listens on (also /healthz, /readyz, /metrics)",
    )
    allow_unknown_chargers: Flag = var(
        "WATTLINE_ALLOW_UNKNOWN_CHARGERS", False,
        "accept charge points not in `charge_points` (else HTTP 404 at the handshake); see "
        "[Security](#security)",
    )  # fmt: skip
    ocpp_tls_cert: Path | None = var(
        "WATTLINE_OCPP_TLS_CERT",
        None,
        "certificate (PEM); with `_TLS_KEY`: `wss://` (security profiles 2 and 3)",
    )
    ocpp_tls_key: Path | None = var("WATTLINE_OCPP_TLS_KEY", None, "the certificate's key (PEM)")
    ocpp_tls_ca: Path | None = var(
        "WATTLINE_OCPP_TLS_CA", None,
        "CA bundle (PEM) that client certificates must chain to (security profile 3)",
    )  # fmt: skip
    ocpp_trust_proxy_tls: Flag = var(
        "WATTLINE_OCPP_TRUST_PROXY_TLS", False,
        "a TLS-terminating proxy in front: a plain connection counts as TLS for profile 2 "
        "(never for profile 3)",
    )  # fmt: skip
    ocpp_max_connections: Count = var(
        "WATTLINE_OCPP_MAX_CONNECTIONS",
        10_000,
        "more concurrent connections get HTTP 503 at the handshake",
    )
    ocpp_max_frame_bytes: Count = var(
        "WATTLINE_OCPP_MAX_FRAME_BYTES", 65_536, "larger frames close the connection (1009)"
    )
    ocpp_ping_interval_s: Positive = var(
        "WATTLINE_OCPP_PING_INTERVAL", 20.0, "seconds between pings (finding dead peers)"
    )
    ocpp_ping_timeout_s: Positive = var(
        "WATTLINE_OCPP_PING_TIMEOUT", 20.0, "seconds a pong may take"
    )
    ocpp_close_timeout_s: Positive = var(
        "WATTLINE_OCPP_CLOSE_TIMEOUT", 10.0, "how long a dead peer may hold on to its connection, s"
    )
    ocpp_command_timeout_s: Positive = var(
        "WATTLINE_OCPP_COMMAND_TIMEOUT", 30.0,
        "seconds: an unanswered operator command becomes `timed_out`; one still `sent` 30 s past "
        "this was lost by its process and is swept to `timed_out` (give `wattline jobs` and every "
        "`wattline ocpp` the same value)",
    )  # fmt: skip
    ocpp_command_expiry_s: Positive = var(
        "WATTLINE_OCPP_COMMAND_EXPIRY", 600.0,
        "seconds: a command still `requested` this long, for a charge point not heard from for as "
        "long, is swept to `failed`",
    )  # fmt: skip
    ocpp_spool: Path = var(
        "WATTLINE_OCPP_SPOOL", Path("spool/ocpp.jsonl"),
        "where confirmed data waits, fsynced, while the database is away (beside it: `.offset`, "
        "replay progress; `.quarantine`, what could not be replayed)",
    )  # fmt: skip
    # --- both ingests ---
    spool_max_bytes: Count = var(
        "WATTLINE_SPOOL_MAX_BYTES", 2**30,
        "the most a spool file (OCPP or MQTT) may hold; past it, and when its disk is full, "
        "nothing more is confirmed until there is room", shown="1073741824 (1 GiB)",
    )  # fmt: skip
    db_statement_timeout_s: Positive = var(
        "WATTLINE_DB_STATEMENT_TIMEOUT_S", 30.0,
        "the ingest writer's `statement_timeout`; a statement that runs longer, or a database "
        "that stops answering (TCP keepalives, ~25 s), counts as \"database away\": the writer "
        "spools",
    )  # fmt: skip
    max_future_s: Annotated[float, BeforeValidator(_seconds_ahead)] = var(
        "WATTLINE_MAX_FUTURE_S", 600.0,
        "device times (OCPP and MQTT) more than this many seconds ahead of the server clock are "
        "not stored as such: see the Bad input paragraphs of both ingests",
    )  # fmt: skip
    min_time: Annotated[datetime, BeforeValidator(_min_time)] = var(
        "WATTLINE_MIN_TIME", _min_time("2000-01-01"),
        "device times earlier than this (a date, midnight UTC, or an ISO-8601 time with a zone) "
        "are not stored as such", shown="2000-01-01",
    )  # fmt: skip
    writer_series: Count = var(
        "WATTLINE_WRITER_SERIES", 200_000,
        "register series whose last reading each ingest process remembers (about 500 bytes "
        "each), so their rows are COPYed straight in; a series beyond that takes the slower SQL "
        "merge",
    )  # fmt: skip
    # --- analytics and alerts ---
    settlement_minutes: Annotated[int, BeforeValidator(_settlement_minutes)] = var(
        "SETTLEMENT_INTERVAL_MINUTES", 5, "settlement period length; must divide a day"
    )
    expected_interval_s: Annotated[int, BeforeValidator(_interval_s)] = var(
        "WATTLINE_EXPECTED_INTERVAL_S", 60,
        "the sample interval the completeness report (and the completeness alert) expects",
    )  # fmt: skip
    token_ratio: Annotated[Decimal, BeforeValidator(_decimal)] = var(
        "WATTLINE_TOKEN_RATIO", Decimal("1"), "tokens per net kWh exported"
    )
    alert_webhook_url: Annotated[SecretStr, BeforeValidator(_http_url)] | None = var(
        "WATTLINE_ALERT_WEBHOOK_URL", None,
        "where opened and resolved alerts are POSTed as JSON; unset: none are posted "
        "([Alerts](#alerts))", secret=True,
    )  # fmt: skip
    alert_webhook_attempts: Count = var(
        "WATTLINE_ALERT_WEBHOOK_ATTEMPTS", 4, "tries per event before a dead-letter row"
    )
    alert_webhook_backoff_s: Positive = var(
        "WATTLINE_ALERT_WEBHOOK_BACKOFF_S", 1.0, "first pause between tries, doubling (1, 2, 4 … s)"
    )
    alert_low_balance: Positive | None = var(
        "WATTLINE_ALERT_LOW_BALANCE", None, "a prepayment balance under this opens `low_balance`",
        shown="the database's `wattline.low_balance_threshold`, else `5.00`",
    )  # fmt: skip
    alert_days_to_empty: Positive | None = var(
        "WATTLINE_ALERT_DAYS_TO_EMPTY", None,
        "fewer days of credit left than this opens `days_to_empty`",
        shown="`wattline.alert_days_to_empty`, else `3`",
    )  # fmt: skip
    alert_offline_minutes: Positive | None = var(
        "WATTLINE_ALERT_OFFLINE_MINUTES", None, "a meter quiet for longer opens `meter_offline`",
        shown="`wattline.offline_after_minutes`, else `60`",
    )  # fmt: skip
    alert_heartbeat_misses: Positive | None = var(
        "WATTLINE_ALERT_HEARTBEAT_MISSES", None,
        "a charge point quiet for this many heartbeat intervals (300 s) opens `charger_offline`",
        shown="`wattline.alert_heartbeat_misses`, else `3`",
    )  # fmt: skip
    alert_completeness_pct: Positive = var(
        "WATTLINE_ALERT_COMPLETENESS_PCT", 90.0,
        "a meter that sent less than this % of its expected readings over the window opens "
        "`low_completeness`",
    )  # fmt: skip
    alert_completeness_window_h: Positive = var(
        "WATTLINE_ALERT_COMPLETENESS_WINDOW_H", 1.0, "that window, in hours"
    )
    # --- MQTT meter ingest ---
    mqtt_url_secret: Annotated[SecretStr, BeforeValidator(_mqtt_url)] = var(
        "MQTT_URL", SecretStr(DEFAULT_MQTT_URL),
        "broker (`mqtt://user:password@host:port`; `mqtts://` for TLS, port 8883 by default)",
        shown=DEFAULT_MQTT_URL, secret=True,
    )  # fmt: skip
    mqtt_username: str | None = var(
        "WATTLINE_MQTT_USERNAME", None, "the ingest's broker user", shown="the URL's"
    )
    mqtt_password: SecretStr | None = var(
        "WATTLINE_MQTT_PASSWORD",
        None,
        "the ingest's broker password; never logged",
        shown="the URL's",
        secret=True,
    )
    mqtt_ca: str | None = var(
        "WATTLINE_MQTT_CA", None,
        "`mqtts://`: the CA bundle the broker's certificate must chain to (its name must match "
        "the URL's host)", shown="the system's CAs",
    )  # fmt: skip
    mqtt_cert: str | None = var(
        "WATTLINE_MQTT_CERT", None, "`mqtts://`: a client certificate, for brokers that require one"
    )
    mqtt_key: str | None = var(
        "WATTLINE_MQTT_KEY", None, "`mqtts://`: the client certificate's key"
    )
    mqtt_max_packet_bytes: Annotated[int, _whole(4096, 268_435_455)] = var(
        "WATTLINE_MQTT_MAX_PACKET_BYTES", 2 * 1024 * 1024,
        "the ingest's MQTT 5 Maximum Packet Size: the broker drops, instead of sending, anything "
        "larger", shown="2097152 (2 MiB)",
    )  # fmt: skip
    mqtt_client_id: str = var(
        "WATTLINE_MQTT_CLIENT_ID",
        "wattline-ingest",
        "the persistent MQTT session's name (one per ingest process)",
    )
    mqtt_shared_group: str | None = var(
        "WATTLINE_MQTT_SHARED_GROUP",
        None,
        "join `$share/GROUP/...` subscriptions to split the load",
    )
    mqtt_topic_prefix: str = var("WATTLINE_MQTT_TOPIC_PREFIX", "meters", "topic root")
    allow_unknown_meters: Flag = var(
        "WATTLINE_ALLOW_UNKNOWN_METERS", False,
        "`true`: register meters (and missing registers) when first heard; `false` refuses them "
        "into `ingest_rejects` (register with `wattline meter add`)",
    )  # fmt: skip
    mqtt_max_pending: Annotated[int, _whole(1, 65_535)] = var(
        "WATTLINE_MQTT_MAX_PENDING", 65_535,
        "messages received and not yet acknowledged (the MQTT 5 Receive Maximum): how many "
        "seconds of database pause the ingest rides out before the broker must queue (and, past "
        "its `max_queued_messages`, drop)",
    )  # fmt: skip
    mqtt_spool: str | None = var(
        "WATTLINE_MQTT_SPOOL", None,
        "file where batches wait, fsynced, while the database is away (with `.offset` and "
        "`.quarantine` beside it); without it messages stay unacknowledged at the broker until it "
        "returns",
    )  # fmt: skip
    mqtt_max_future_s: Annotated[float, BeforeValidator(_seconds_ahead)] | None = var(
        "WATTLINE_MQTT_MAX_FUTURE_S", None,
        "the older name of `WATTLINE_MAX_FUTURE_S`; wins for MQTT when set",
        shown="`WATTLINE_MAX_FUTURE_S`",
    )  # fmt: skip
    # --- HTTP API ---
    api_secret: Annotated[SecretStr, BeforeValidator(_api_secret)] | None = var(
        "WATTLINE_API_SECRET", None,
        "`wattline api`: the HS256 key (at least 32 bytes) its tokens are signed with; "
        "`wattline token issue` signs with it", secret=True,
    )  # fmt: skip
    api_jwks_url: Annotated[str, BeforeValidator(_http_url)] | None = var(
        "WATTLINE_API_JWKS_URL", None,
        "an identity provider's key set: RS256/ES256 tokens are checked against it (this or the "
        "secret is required)",
    )  # fmt: skip
    api_audience: str = var(
        "WATTLINE_API_AUDIENCE", "wattline", "the `aud` every API token must carry"
    )
    api_issuer: str = var("WATTLINE_API_ISSUER", "wattline", "the `iss` every API token must carry")
    api_host: str = var("WATTLINE_API_HOST", "0.0.0.0", "where `wattline api` listens")
    api_port: Port = var(
        "WATTLINE_API_PORT", 8080, "the port of `wattline api` (also /healthz, /readyz, /metrics)"
    )
    api_workers: Annotated[int, _whole(1, 64)] = var(
        "WATTLINE_API_WORKERS", 1, "`wattline api` processes (one per core serves most)"
    )
    api_pool_size: Annotated[int, _whole(1, 100)] = var(
        "WATTLINE_API_POOL_SIZE", 8, "database connections of each API process"
    )
    # --- health, metrics, logs ---
    http_host: str = var(
        "WATTLINE_HTTP_HOST", "0.0.0.0", "where the health and metrics servers listen"
    )
    mqtt_http_port: Port = var(
        "WATTLINE_MQTT_HTTP_PORT", 9101, "`wattline mqtt`'s /healthz, /readyz, /metrics (0: none)"
    )
    jobs_http_port: Port = var(
        "WATTLINE_JOBS_HTTP_PORT", 9102, "`wattline jobs`'s /healthz, /readyz, /metrics (0: none)"
    )
    dashboard_http_port: Port = var(
        "WATTLINE_DASHBOARD_HTTP_PORT",
        9103,
        "the dashboard's /healthz, /readyz, /metrics (0: none)",
    )
    silent_after_s: Positive = var(
        "WATTLINE_SILENT_AFTER_S",
        600.0,
        "a device not heard from this long counts as silent in the metrics",
    )
    health_linger_s: Annotated[float, BeforeValidator(_seconds_or_none)] = var(
        "WATTLINE_HEALTH_LINGER_S", 0.0,
        "seconds a stopping process keeps answering /healthz (failing) before it exits",
    )  # fmt: skip
    log_format: Literal["text", "json"] = var(
        "WATTLINE_LOG_FORMAT", "text", "`json`: one JSON object a line (time, level, process, "
        "charge point or meter, logger, message)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _together(self) -> Settings:
        cert, key, ca = self.ocpp_tls_cert, self.ocpp_tls_key, self.ocpp_tls_ca
        if bool(cert) != bool(key):
            raise ValueError("set both WATTLINE_OCPP_TLS_CERT and _TLS_KEY, or neither")
        if ca and not cert:
            raise ValueError("WATTLINE_OCPP_TLS_CA needs WATTLINE_OCPP_TLS_CERT and _TLS_KEY")
        return self

    @property
    def database_url(self) -> str:
        return _with_password(self.database_secret.get_secret_value(), self.db_password)

    @property
    def mqtt_url(self) -> str:
        return self.mqtt_url_secret.get_secret_value()

    @property
    def reader_url(self) -> str:
        """WATTLINE_READER_URL, else DATABASE_URL as wattline_reader (with its password)."""
        if self.reader_url_secret is not None:
            return _with_password(self.reader_url_secret.get_secret_value(), self.reader_password)
        password = self.reader_password.get_secret_value() if self.reader_password else None
        return reader_dsn(self.database_url, password)

    def __init__(self, **values: Any) -> None:
        if "database_url" in values:  # the name callers knew before the URL became a secret
            values["DATABASE_URL"] = values.pop("database_url")
        super().__init__(**values)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_):
        return (init_settings,)  # from_env gathers the environment, .env and files itself

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """From ``env`` alone when given (tests), else the process environment over .env."""
        values = gather(env)
        try:
            return cls(**values)
        except ValidationError as exc:
            raise SystemExit(_one_line(exc, values)) from None


READER_ROLE = "wattline_reader"


def _with_password(dsn: str, password: SecretStr | None) -> str:
    """``dsn`` with ``password`` added when it has none of its own (the URL's wins)."""
    if password is None:
        return dsn
    from psycopg import conninfo

    if conninfo.conninfo_to_dict(dsn).get("password"):
        return dsn
    return conninfo.make_conninfo(dsn, password=password.get_secret_value())


def reader_dsn(database_url: str, password: str | None = None) -> str:
    """The same server and database as ``database_url``, as the read-only role."""
    from psycopg import conninfo

    params = conninfo.conninfo_to_dict(database_url)
    params["user"] = READER_ROLE
    params.pop("password", None)
    if password:
        params["password"] = password
    return conninfo.make_conninfo(**params)


def variables() -> dict[str, Any]:
    """Each variable's name and its field's info, in the order declared."""
    return {f.validation_alias: f for f in Settings.model_fields.values()}


def secret_names() -> list[str]:
    return [name for name, f in variables().items() if f.json_schema_extra["secret"]]


def env_file(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get(ENV_FILE_VARIABLE) or ".env")


def read_env_file(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def export_env_file() -> None:
    """Put the .env file's variables into os.environ where not set there (the environment wins),
    for code that reads os.environ itself and for child processes. ``_FILE`` secrets stay files:
    each process reads them through :func:`gather`."""
    for name, value in read_env_file(env_file()).items():
        os.environ.setdefault(name, value)


def gather(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The known variables' raw values, by name, after precedence and ``_FILE`` resolution."""
    layers = [env] if env is not None else [os.environ, read_env_file(env_file())]
    names = variables()
    found: dict[str, str] = {}
    for name in names:
        for layer in layers:
            value = _value(layer, name, name in secret_names())
            if value:
                found[name] = value
                break
    return found


def _value(layer: Mapping[str, str], name: str, secret: bool) -> str | None:
    if layer.get(name):
        return layer[name]
    path = layer.get(f"{name}_FILE") if secret else None
    if not path:
        return None
    try:
        # A mounted secret ends with a newline the value has not.
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise SystemExit(f"{name}_FILE={path!r}: {exc.strerror}") from None


def _one_line(exc: ValidationError, values: Mapping[str, str]) -> str:
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:  # a check across variables: its message names them
        return message
    name = str(error["loc"][0])
    if message.startswith("must "):  # "NAME must be positive", as before this module
        return f"{name} {message}"
    if name in secret_names() or name not in values:
        return f"{name}: {message}"  # a secret's value is never echoed
    if message.startswith("is "):  # "NAME='x' is not a number"
        return f"{name}={values[name]!r} {message}"
    return f"{name}={values[name]!r}: {message}"
