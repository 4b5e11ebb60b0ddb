"""Chargers: live status cards for every charge point and connector, then one charge point in
detail (connectors, transactions, energy and power, OCPP log, operator commands)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from dashboard import cache, charts, commands, data, freshness, labels, sessions
from dashboard.config import DashboardConfig
from dashboard.widgets import range_picker

PAGE_SIZE = 20
# Material icons in Streamlit's coloured text: no emoji font needed on the viewer's machine.
FRESHNESS_ICON = {
    "good": ":green[:material/circle:]",
    "warning": ":orange[:material/circle:]",
    "stale": ":red[:material/circle:]",
    "never": ":gray[:material/radio_button_unchecked:]",
}

TRANSACTION_COLUMNS = [
    *("transaction_id", "connector_id", "id_tag", "started_at", "stopped_at", "stop_reason"),
    *("energy_kwh", "end_source", "currency", "cost", "tax", "total", "soc_change_pct"),
    "average_kw",
]
CONNECTED = {
    True: ":green[:material/link:] connected",
    False: ":gray[:material/link_off:] not connected",
}
config = DashboardConfig.from_env()
dsn = config.reader_url
tz = config.site_tz
st.title("Chargers")


def _connector_line(row: dict) -> str:
    icon = FRESHNESS_ICON.get(row["freshness"] or "never", FRESHNESS_ICON["never"])
    parts = [f"{icon} **#{row['connector_id']}** {row['status'] or 'unknown'}"]
    if row["meter_kwh"] is not None:
        parts.append(f"{row['meter_kwh']} kWh register")
    if row["transaction_id"] is not None:
        parts.append(f"session {row['transaction_id']}: {row['energy_since_start_kwh']} kWh")
    if row["error_code"] and row["error_code"] != "NoError":
        parts.append(f":orange[:material/warning:] {row['error_code']}")
    return " · ".join(parts)


@st.fragment(run_every=config.refresh_s)
def status_cards() -> None:
    cards = cache.frame(dsn, "dash_charger_cards")
    cards = sessions.with_session_figures(cards, cache.sessions_of(dsn, sessions.open_ids(cards)))
    freshness.caption(dsn, ["charger"])
    if cards.is_empty():
        st.info(
            "No charge points yet. They appear when they connect to `wattline ocpp`: start the "
            "simulator with `wattline simulate chargers`, or register one with "
            "`wattline charger add`."
        )
        return
    columns = st.columns(3)
    for i, (cp_id,) in enumerate(
        cards.select("charge_point_id").unique(maintain_order=True).rows()
    ):
        rows = cards.filter(pl.col("charge_point_id") == cp_id).to_dicts()
        with columns[i % 3].container(border=True):
            st.markdown(f"### {cp_id}")
            seen = rows[0]["last_seen_at"]
            seen_text = (
                f"{labels.local(seen, tz)} {labels.zone_abbrev(tz, seen)}" if seen else "never"
            )
            maker = " ".join(v for v in (rows[0]["vendor"], rows[0]["model"]) if v)
            st.caption(
                " · ".join(
                    p
                    for p in (
                        CONNECTED[bool(rows[0]["connected"])],
                        maker,
                        f"last seen {seen_text}",
                    )
                    if p
                )
            )
            for row in rows:
                if row["connector_id"] is not None:
                    st.markdown(_connector_line(row))


status_cards()

summary = cache.frame(dsn, "dash_charger_summary")
if summary.is_empty():
    st.stop()
st.subheader("Charge point detail")
cp_id = st.selectbox("Charge point", summary["charge_point_id"].to_list(), key="cp")
labels.show(summary.filter(pl.col("charge_point_id") == cp_id), empty="", key="cp_summary")


@st.fragment(run_every=config.refresh_s)
def live_connectors() -> None:
    st.markdown("**Connectors: live meter status and freshness**")
    status = cache.frame(dsn, "dash_connector_status", charge_point_id=cp_id)
    status = sessions.with_session_figures(
        status, cache.sessions_of(dsn, sessions.open_ids(status))
    )
    labels.show(
        status,
        empty=f"{cp_id} has reported no connectors yet (StatusNotification). Ask it with the "
        "Trigger command below, or check that it is connected.",
        key="cp_connectors",
    )


live_connectors()

st.markdown("**Transactions**")
lo, hi = range_picker("tx_range")
# The count first: the page number input needs it before the page is chosen.
total = cache.session_count(dsn, charge_point_id=cp_id, lo=lo, hi=hi)
pages = data.page_count(total, PAGE_SIZE)
page = st.number_input(f"Page (of {pages})", 1, pages, 1, key="tx_page")
transactions, _ = cache.session_page(
    dsn, PAGE_SIZE, (page - 1) * PAGE_SIZE, charge_point_id=cp_id, lo=lo, hi=hi
)
st.caption(f"{total} session(s) started in this range")
labels.show(
    transactions.select(TRANSACTION_COLUMNS),
    empty=f"No sessions on {cp_id} in this range. Start the simulator with "
    "`wattline simulate chargers` or widen the dates.",
    key="cp_sessions",
)

energy = cache.frame(dsn, "dash_charger_energy_hourly", charge_point_id=cp_id, lo=lo, hi=hi)
power_bucket = data.bucket_for(hi - lo)
power = cache.series(dsn, "dash_charger_power", lo, hi, charge_point_id=cp_id)
left, right = st.columns(2)
with left:
    charts.show(
        charts.energy_bars(
            energy, "bucket", "energy_kwh", "connector_id", "Energy per hour (kWh)",
            width=timedelta(hours=1), tz=tz, span=(lo, hi),
        ),
        empty=f"No energy from {cp_id} in this range: its energy register "
        "(Energy.Active.Import.Register) had no new readings. Widen the dates, or check that it "
        "sends MeterValues.",
        key="energy_chart",
    )  # fmt: skip
with right:
    charts.show(
        charts.power_lines(power, width=power_bucket, tz=tz, span=(lo, hi)),
        empty=f"No power chart: {cp_id} sent no active power (Power.Active.Import) in this "
        "range. Many chargers send only the energy register; configure it to sample "
        "Power.Active.Import (MeterValuesSampledData), or see the energy per hour.",
        key="power_chart",
    )


@st.fragment(run_every=config.refresh_s)
def ocpp_log() -> None:
    st.markdown("**Recent OCPP messages** (live)")
    labels.show(
        cache.frame(dsn, "dash_ocpp_log", charge_point_id=cp_id, limit=50),
        empty=f"No OCPP messages from {cp_id} yet: they appear once it connects to "
        "`wattline ocpp`.",
        labels={"action": "Action", "message_id": "Message id"},
        key="ocpp_log",
    )


ocpp_log()

st.markdown("**Operator commands**")
if not config.operator_password:
    st.info("Operator commands are disabled: set WATTLINE_OPERATOR_PASSWORD to enable them.")
elif not st.session_state.get("operator"):
    st.info("Sign in as operator (sidebar) to send commands.")
else:
    connectors = cache.frame(dsn, "dash_connector_status", charge_point_id=cp_id)
    with st.form("command"):
        label = st.selectbox("Command", list(commands.ACTIONS), key="cmd_label")
        connector = st.number_input("Connector", 0, 99, 1, key="cmd_connector")
        id_tag = st.text_input("Id tag (Start)", key="cmd_tag")
        reset_type = st.selectbox("Reset type", ["Soft", "Hard"], key="cmd_reset")
        message = st.selectbox("Message (Trigger)", commands.TRIGGER_MESSAGES, key="cmd_msg")
        if st.form_submit_button("Send"):
            version = cache.scalar(dsn, "dash_charge_point_version", charge_point_id=cp_id)
            # The id the charger knows its transaction by, which a remote stop must carry.
            column = "station_transaction_id" if version == "2.0.1" else "charger_transaction_id"
            open_tx = connectors.filter(pl.col("connector_id") == connector)[column].drop_nulls()
            try:
                body = commands.payload(
                    label,
                    connector_id=int(connector),
                    id_tag=id_tag,
                    transaction_id=open_tx[0] if len(open_tx) else None,
                    reset_type=reset_type,
                    requested_message=message,
                    version=version or "1.6",
                )
                operator = st.session_state["operator"]
                command_id = commands.request(
                    config.writer_url, cp_id, label, body, operator, version or "1.6"
                )
                cache.frame.clear()
                st.success(
                    f"Command {command_id} requested: {commands.action(label, version or '1.6')}"
                )
            except ValueError as exc:
                st.error(str(exc))


@st.fragment(run_every=config.refresh_s)
def command_results() -> None:
    labels.show(
        cache.frame(dsn, "dash_commands", charge_point_id=cp_id, limit=20),
        empty=f"No commands sent to {cp_id} yet.",
        labels={"id": "Command"},
        key="cp_commands",
    )


command_results()
