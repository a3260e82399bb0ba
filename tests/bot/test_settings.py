from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.settings import build_settings
from services.errors import ConfigError


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "RETENTION_BOT_CONFIG", "RETENTION_BOT_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    s = build_settings()
    assert s.database_url == "sqlite:///retention_bot.db"
    assert s.policies.gross_margin == Decimal("0.80")
    assert s.policies.adoption_threshold == 0.40
    assert s.policies.health.bands.green_from == 70


def test_policies_from_toml(tmp_path: Path) -> None:
    cfg = tmp_path / "retention-bot.toml"
    cfg.write_text("""
currency = "EUR"
gross_margin = "0.72"
adoption_threshold = 0.5
[health]
weights = { usage = 0.5, commercial = 0.5 }
[health.bands]
red_below = 30
green_from = 80
""")
    s = build_settings(RETENTION_BOT_CONFIG=str(cfg))
    assert (s.policies.currency, s.policies.gross_margin, s.policies.adoption_threshold) == (
        "EUR",
        Decimal("0.72"),
        0.5,
    )
    assert s.policies.health.weights == {"usage": 0.5, "commercial": 0.5}
    assert s.policies.health.bands.band(75) == "yellow"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("gross_margin = 1.5", "gross_margin: Input should be less than or equal to 1"),
        ("[health]\nweights = { happiness = 1.0 }", "unknown health component(s) ['happiness']"),
        ("colour = 'red'", "colour: Extra inputs are not permitted"),
        ("gross_margin = ", "is not valid TOML"),
    ],
)
def test_bad_policy_file_is_one_clear_error(tmp_path: Path, body: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(body)
    with pytest.raises(ConfigError) as info:
        build_settings(RETENTION_BOT_CONFIG=str(cfg))
    assert str(cfg) in str(info.value) and message in str(info.value)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        build_settings(RETENTION_BOT_CONFIG=str(tmp_path / "nope.toml"))
