"""Who sent a dialog's submission, and from which team and Enterprise Grid org, wherever Slack puts it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from commands.context import ViewSubmission


def test_a_submission_names_its_team_and_org_as_slack_sends_them() -> None:
    one_team = {"team": {"id": "T1", "domain": "t"}, "user": {"id": "U1", "team_id": "T1"}}
    grid = {
        "team": {"id": "T1", "enterprise_id": "E1", "enterprise_name": "Org"},
        "enterprise": {"id": "E1", "name": "Org"},
        "is_enterprise_install": True,
        "user": {"id": "U1", "team_id": "T1"},
    }
    only_on_the_team = {"team": {"id": "T1", "enterprise_id": "E1"}, "user": {"id": "U1"}}
    org_wide_no_team = {"team": None, "enterprise": {"id": "E1"}, "user": {"id": "U1", "team_id": "T1"}}
    from_the_view = {"enterprise": "E1", "user": {"id": "U1"}, "view": {"team_id": "T1"}}
    who = [ViewSubmission.from_body(b) for b in (grid, only_on_the_team, org_wide_no_team, from_the_view)]
    assert {(w.team_id, w.enterprise_id, w.user_id) for w in who} == {("T1", "E1", "U1")}
    assert ViewSubmission.from_body(one_team).model_dump(exclude_none=True) == {
        "team_id": "T1",
        "user_id": "U1",
    }
    with pytest.raises(ValidationError):
        ViewSubmission.from_body({"team": {"id": "T1"}})  # nobody submitted it
