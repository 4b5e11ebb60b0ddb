"""Known answers from the real-time meter and SOC seed, worked by hand."""

from decimal import Decimal as D

import pytest

from analytics.cost import kwh_from_wh, session_cost
from analytics.session import end_register, session_energy_kwh
from analytics.soc import charge_outcome


def test_the_seed_session_costs_149_14():
    # 15.234 - 5.123 = 10.111 kWh; 10.111 x 12.50 = 126.3875 -> 126.39;
    # 126.39 x 0.18 = 22.7502 -> 22.75; total 149.14.
    cost = session_cost(kwh_from_wh(15234 - 5123), D("12.50"))
    assert (cost.energy_kwh, cost.cost, cost.tax, cost.total) == (
        D("10.111"),
        D("126.39"),
        D("22.75"),
        D("149.14"),
    )


def test_money_rounds_half_up_not_to_even():
    # 0.125 kWh x 1.00 = 0.125 -> 0.13 (banker's rounding would give 0.12); tax 0.0234 -> 0.02.
    cost = session_cost(D("0.125"), D("1.00"))
    assert (cost.cost, cost.tax, cost.total) == (D("0.13"), D("0.02"), D("0.15"))


def test_negative_inputs_are_refused():
    with pytest.raises(ValueError, match="cannot be negative"):
        session_cost(D("-1"), D("12.5"))


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
