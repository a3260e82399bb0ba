"""The rules of shared goals (services.goals): direction per KPI, status at the tolerance edges in both
directions, good and bad changes, reading a target as typed, demo targets, and the policy file's
[kpis] and [tolerance] sections."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from services import goals
from services.errors import ConfigError
from services.goals import TargetError, demo_target, direction, good, parse_target, status
from services.policies import Policies, Tolerance, load_policies
from services.scorecard import KPIS
from storage.targets import TargetChange

TOL = Tolerance()
D = Decimal


# --- direction ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "way"),
    [
        ("nrr", "higher"),
        ("grr", "higher"),
        ("adoption", "higher"),
        ("save_rate", "higher"),
        ("health_index", "higher"),
        ("sla_adherence", "higher"),
        ("clv", "higher"),
        ("expansion_arr", "higher"),
        ("first_value_on_time", "higher"),
        ("churn_risk_coverage", "higher"),
        ("logo_churn", "lower"),
        ("contraction_arr", "lower"),
        ("time_to_value_days", "lower"),
        ("onboarding_time_days", "lower"),
    ],
)
def test_direction_per_kpi(key: str, way: str) -> None:
    unit = KPIS[key][1] if key in KPIS else ("days" if key.endswith("_days") else "ratio")
    assert direction(key, unit) == way


def test_every_scorecard_kpi_has_a_written_direction() -> None:
    assert set(KPIS) <= set(goals.DIRECTIONS)


def test_a_kpi_without_a_written_direction_follows_its_unit() -> None:
    assert direction("something_days", "days") == "lower"
    assert direction("something_share", "ratio") == "higher"


# --- status at the tolerance edges -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.10, "on_track"),  # meets it exactly
        (1.15, "on_track"),
        (1.09, "at_risk"),
        (1.08, "at_risk"),  # 2.0 points short: the edge is still at risk
        (1.0799, "at_risk"),  # 2.01 points short, but it shows as 108.0%: compared as shown
        (1.0794, "off_track"),  # shows as 107.9%: 2.1 points short
        (0.90, "off_track"),
    ],
)
def test_ratio_higher_is_better(value: float, expected: str) -> None:
    assert status(value, D("1.10"), "higher", "ratio", TOL) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.02, "on_track"),
        (0.01, "on_track"),
        (0.04, "at_risk"),  # logo churn 2 points above a 2 % target: the edge
        (0.0401, "at_risk"),  # shows as 4.0%
        (0.0406, "off_track"),  # shows as 4.1%
    ],
)
def test_ratio_lower_is_better(value: float, expected: str) -> None:
    assert status(value, D("0.02"), "lower", "ratio", TOL) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("50000.00"), "on_track"),
        (D("45000.00"), "at_risk"),  # 10 % of the target short: the edge
        (D("44999.99"), "at_risk"),  # shows as $45,000
        (D("44999.49"), "off_track"),  # shows as $44,999
    ],
)
def test_money_higher_is_better(value: Decimal, expected: str) -> None:
    assert status(value, D("50000"), "higher", "money", TOL) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("20000.00"), "on_track"),
        (D("22000.00"), "at_risk"),  # contraction 10 % over its target
        (D("22000.01"), "at_risk"),  # shows as $22,000
        (D("22000.50"), "off_track"),  # shows as $22,001
    ],
)
def test_money_lower_is_better(value: Decimal, expected: str) -> None:
    assert status(value, D("20000"), "lower", "money", TOL) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(30.0, "on_track"), (29.5, "on_track"), (33.0, "at_risk"), (33.1, "off_track")],
)
def test_days_lower_is_better(value: float, expected: str) -> None:
    assert status(value, D("30"), "lower", "days", TOL) == expected


def test_score_points_and_a_changed_tolerance() -> None:
    assert status(78.0, D("80"), "higher", "score", TOL) == "at_risk"
    assert status(77.9, D("80"), "higher", "score", TOL) == "off_track"
    wide = Tolerance(ratio_points=D("5"), days_percent=D("20"))
    assert status(1.05, D("1.10"), "higher", "ratio", wide) == "at_risk"
    assert status(1.0494, D("1.10"), "higher", "ratio", wide) == "off_track"
    assert status(36.0, D("30"), "lower", "days", wide) == "at_risk"
    strict = Tolerance(ratio_points=D("0"))
    assert status(1.0994, D("1.10"), "higher", "ratio", strict) == "off_track"


def test_status_compares_the_values_as_shown() -> None:
    # GRR 0.927504 shows as 92.8%; against a 92.8% target the row must not read "at risk".
    assert status(D("0.927504"), D("0.928"), "higher", "ratio", TOL) == "on_track"
    assert status(D("0.927504"), D("0.928"), "higher", "ratio", Tolerance(ratio_points=D("0"))) == "on_track"
    assert status(D("0.92749"), D("0.928"), "higher", "ratio", Tolerance(ratio_points=D("0"))) == "off_track"
    assert status(30.04, D("30"), "lower", "days", Tolerance(days_percent=D("0"))) == "on_track"  # 30.0
    assert status(30.06, D("30"), "lower", "days", Tolerance(days_percent=D("0"))) == "off_track"  # 30.1
    assert status(79.96, D("80"), "higher", "score", Tolerance(score_points=D("0"))) == "on_track"  # 80.0
    assert status(D("49999.50"), D("50000"), "higher", "money", Tolerance(money_percent=D("0"))) == "on_track"


def test_no_target_and_no_value() -> None:
    assert status(1.0, None, "higher", "ratio", TOL) == "no_target"
    assert status(None, D("1.1"), "higher", "ratio", TOL) == "no_value"


def test_float_noise_does_not_move_an_edge() -> None:
    value = 0.1 + 0.2  # 0.30000000000000004
    assert status(value, D("0.3"), "lower", "ratio", TOL) == "on_track"
    assert status(value, D("0.32"), "higher", "ratio", TOL) == "at_risk"


# --- good and bad changes --------------------------------------------------------------------------


def test_a_change_is_good_in_the_kpis_direction() -> None:
    assert good(0.012, "higher") is True
    assert good(-0.012, "higher") is False
    assert good(0.012, "lower") is False  # logo churn up
    assert good(-0.012, "lower") is True
    assert good(D("-5.0"), "lower") is True  # time to value 5 days shorter
    assert good(0, "higher") is None and good(None, "lower") is None


# --- targets as typed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        ("110%", "ratio", D("1.1")),
        ("1.10", "ratio", D("1.10")),
        ("2.5%", "ratio", D("0.025")),
        ("$50k", "money", D("50000")),
        ("50,000", "money", D("50000")),
        ("1.2M", "money", D("1200000")),
        ("30", "days", D("30")),
        ("30d", "days", D("30")),
        ("75", "score", D("75")),
    ],
)
def test_targets_as_typed(text: str, unit: str, value: Decimal) -> None:
    assert parse_target(text, unit) == value


@pytest.mark.parametrize(
    ("text", "unit", "plain"),
    [
        ("$50k", "money", "50000"),
        ("1.2M", "money", "1200000"),
        ("110%", "ratio", "1.1"),
        ("100", "days", "100"),
    ],
)
def test_a_target_has_no_exponent(text: str, unit: str, plain: str) -> None:
    assert str(parse_target(text, unit)) == plain  # not 5E+4


@pytest.mark.parametrize(
    ("text", "unit", "says"),
    [
        ("110", "ratio", "write a percentage"),
        ("abc", "ratio", "not a target"),
        ("-5k", "money", "not negative"),
        ("3 weeks", "days", "not a"),
        ("120", "score", "score from 0 to 100"),
        ("33.3333333%", "ratio", "six decimal places"),
        # Beyond what storage keeps (millionths in 64 bits): one line, not an OverflowError.
        ("99999999999999999", "days", "at most 1,000,000,000,000"),
        ("$99999999999M", "money", "at most 1,000,000,000,000"),
        ("1001%", "ratio", "out of range"),
    ],
)
def test_targets_that_cannot_be_read(text: str, unit: str, says: str) -> None:
    with pytest.raises(TargetError, match=says):
        parse_target(text, unit)


# --- demo targets give every status ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "way"),
    [
        (1.0301, "ratio", "higher"),
        (0.031, "ratio", "lower"),
        (D("20484.00"), "money", "higher"),
        (D("42600.00"), "money", "lower"),
        (51.0, "days", "lower"),
        (79.3, "score", "higher"),
    ],
)
def test_demo_targets_give_the_status_asked_for(value: float | Decimal, unit: str, way: str) -> None:
    for wanted in ("on_track", "at_risk", "off_track"):
        target = demo_target(value, unit, way, wanted)  # type: ignore[arg-type]
        assert status(value, target, way, unit, TOL) == wanted  # type: ignore[arg-type]
    assert demo_target(value, unit, way, "no_target") is None  # type: ignore[arg-type]


# --- the policy file -------------------------------------------------------------------------------


def _policy(tmp_path: Path, body: str) -> Policies:
    path = tmp_path / "policy.toml"
    path.write_text(body)
    return load_policies(path)


def test_owners_targets_and_tolerance_from_the_policy_file(tmp_path: Path) -> None:
    policies = _policy(
        tmp_path,
        """
[kpis.nrr]
owners = ["leadership", "finance"]
capability = "Net retention"
targets = { quarter = 1.10, month = "1.08" }
segments = { enterprise = { quarter = 1.15 } }

[tolerance]
ratio_points = 3
""",
    )
    assert goals.owners("nrr", ("leadership", "revops"), policies) == ("leadership", "finance")
    assert goals.owners("grr", ("leadership", "revops"), policies) == ("leadership", "revops")
    assert goals.capability("nrr", policies) == "Net retention"
    assert goals.capability("grr", policies) == "Revenue retention"
    assert goals.policy_targets(policies) == {
        ("nrr", "quarter", None): D("1.10"),
        ("nrr", "month", None): D("1.08"),
        ("nrr", "quarter", "enterprise"): D("1.15"),
    }
    assert policies.tolerance.ratio_points == 3


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('[kpis.nps]\nowners = ["cs"]\n', "unknown KPI 'nps'"),
        ('[kpis.nrr]\nowners = ["leadership", "legal"]\n', "unknown team 'legal'"),
        ("[kpis.nrr]\ntargets = { year = 1.1 }\n", "kpis.nrr.targets.year"),
        ("[tolerance]\nratio_points = -1\n", "tolerance.ratio_points"),
    ],
)
def test_a_wrong_policy_file_is_one_line_naming_it(tmp_path: Path, body: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _policy(tmp_path, body)
    message = str(raised.value)
    assert says in message and "\n" not in message


def test_picking_a_target_segment_then_every_segment_set_before_policy() -> None:

    at = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    set_layer = {
        ("nrr", "quarter", None): TargetChange("nrr", "quarter", None, "set", None, D("1.12"), "U1", at)
    }
    policy = {("nrr", "quarter", None): D("1.10"), ("nrr", "quarter", "ent"): D("1.15")}
    targets = goals.Targets(set_layer, policy)
    assert targets.pick("nrr", "quarter", None) == goals.Target(D("1.12"), "set", None, "U1", at)
    assert targets.pick("nrr", "quarter", "ent") == goals.Target(D("1.15"), "policy", "ent")
    assert targets.pick("nrr", "quarter", "smb") == goals.Target(D("1.12"), "set", None, "U1", at)
    assert targets.pick("nrr", "month", None) is None
