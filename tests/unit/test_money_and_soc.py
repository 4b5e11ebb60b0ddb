"""Known answers from the real-time meter and SOC seed, worked by hand."""

from decimal import Decimal as D

import pytest

from analytics.cost import DEFAULT_TAX_RATE, kwh_from_wh, money
from analytics.session import end_register, session_energy_kwh
from analytics.soc import charge_outcome


def test_the_seed_session_rounds_to_126_39_plus_22_75():
    # The rounding the session report applies (analytics/session_report.py, via money):
    # 15.234 - 5.123 = 10.111 kWh; 10.111 x 12.50 = 126.3875 -> 126.39;
    # 126.39 x 0.18 = 22.7502 -> 22.75; total 149.14 (checked end to end in
    # tests/integration/analytics/test_session_report.py).
    energy = kwh_from_wh(15234 - 5123)
    cost = money(energy * D("12.50"))
    tax = money(cost * DEFAULT_TAX_RATE)
    assert (energy, cost, tax, cost + tax) == (D("10.111"), D("126.39"), D("22.75"), D("149.14"))


def test_money_rounds_half_up_not_to_even():
    # 0.125 -> 0.13 (banker's rounding would give 0.12); 0.0234 -> 0.02; -0.125 -> -0.13.
    assert (money(D("0.125")), money(D("0.0234")), money(D("-0.125"))) == (
        D("0.13"),
        D("0.02"),
        D("-0.13"),
    )


def test_soc_and_range_for_15_545_kwh_into_40_kwh():
    # 15.545 / 40 x 100 = 38.8625 -> 38.9 %; 15.545 x 4.5 = 69.95 -> 70 km.
    outcome = charge_outcome(D("15.545"), battery_kwh=D(40))
    assert (outcome.soc_change_pct, outcome.range_added_km) == (D("38.9"), 70)
    assert outcome.average_kw is None and outcome.efficiency_pct is None


def test_speed_and_efficiency_on_a_22_kw_connector():
    # 15.545 kWh in 1 h 15 min = 12.436 -> 12.44 kW; 12.44 / 22 x 100 = 56.545 -> 56.5 %.
    outcome = charge_outcome(D("15.545"), hours=D("1.25"), connector_max_kw=D(22))
    assert (outcome.average_kw, outcome.efficiency_pct) == (D("12.44"), D("56.5"))
    assert outcome.soc_change_pct is None  # no battery size known


@pytest.mark.parametrize(
    ("meter_stop", "register", "manual", "source", "kwh"),
    [
        (D(15234), D(14000), D(13000), "meter_stop", D("10.111")),
        (None, D(14000), D(13000), "connector_register", D("8.877")),
        (None, None, D(13000), "manual", D("7.877")),
        (None, None, None, "none", None),
    ],
)
def test_the_end_register_comes_from_the_first_source_that_has_one(
    meter_stop, register, manual, source, kwh
):
    end = end_register(meter_stop, register, None, manual)
    assert end.source == source
    assert session_energy_kwh(D(5123), end) == kwh


def test_a_register_below_its_start_is_zero_energy_not_negative():
    assert session_energy_kwh(D(5123), end_register(D(100), None, None, None)) == D("0.000")
