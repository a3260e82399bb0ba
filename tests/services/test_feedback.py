"""The feedback loop's rules on both databases: capture once, who may curate themes, merges that keep
every item, theme suggestions, the ranking (hand-computed), NPS comments and the shipped-theme win."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services import feedback as fb
from services.errors import NoSingleAccount, UnknownSegment
from services.policies import FeedbackPolicy
from storage import feedback as store
from storage import models as m
from storage.db import Database
from tests.support import NOW
from tests.support.helpers import load

PEOPLE = """
    email,name,team,slack_user_id,manager_email
    ana@x.io,Ana Lima,cs,UANA,
    bob@x.io,Bob Ng,sales,UBOB,
    pam@x.io,Pam Product,product,UPAM,
"""
# NOW is 2026-11-23: ARR reads October's MRR; renewals within 90 days are up to 2027-02-21.
ACCOUNTS = """
    external_id,name,domain,segment,csm_email,ae_email,renewal_on
    A1,Acme Corp,acme.com,smb,ana@x.io,bob@x.io,2026-12-20
    A2,Globex,globex.com,enterprise,ana@x.io,,2027-06-01
    A3,Initech,initech.com,smb,,bob@x.io,
"""
REVENUE = """
    account,month,mrr
    A1,2026-10,1000
    A2,2026-10,5000
    A3,2026-10,200
"""
RISKS = """
    external_id,account,flagged_on,reason,outcome
    R1,A2,2026-11-01,Champion left,open
"""
ADMINS = frozenset({"UADMIN"})
POLICY = FeedbackPolicy(product_admins=["UPAM"])


def _setup(db: Database, ws: int, tmp_path: Path) -> None:
    for kind, body in (
        ("people", PEOPLE),
        ("accounts", ACCOUNTS),
        ("revenue", REVENUE),
        ("risk_flags", RISKS),
    ):
        load(db, ws, kind, body, tmp_path)
    with db.write() as session:
        a3 = session.scalar(select(m.Account.id).where(m.Account.external_id == "A3"))
        a1 = session.scalar(select(m.Account.id).where(m.Account.external_id == "A1"))
        day = NOW.date() - dt.timedelta(days=1)
        for account, band, score in ((a3, "red", 30.0), (a1, "green", 80.0)):
            session.add(
                m.HealthSnapshot(
                    workspace_id=ws, account_id=account, day=day, score=score, band=band, components={}
                )
            )
        # An older red snapshot of Acme must not count: only the latest day does.
        session.add(
            m.HealthSnapshot(
                workspace_id=ws,
                account_id=a1,
                day=day - dt.timedelta(days=5),
                score=20,
                band="red",
                components={},
            )
        )


def _log(
    db: Database, ws: int, ext: str, account: str, theme: str | None, days_ago: int, **kw: str
) -> fb.Captured:
    return fb.capture(
        db,
        ws,
        fb.Capture(ext, kw.pop("text", f"feedback {ext}"), "command", account=account, theme=theme, **kw),
        admins=ADMINS,
        policy=POLICY,
        now=NOW - dt.timedelta(days=days_ago),
        check_authority=False,
    )


def _items(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(m.FeedbackItem)) or 0)


def test_ranking_by_what_is_at_stake(db: Database, ws: int, tmp_path: Path) -> None:
    _setup(db, ws, tmp_path)
    _log(db, ws, "i1", "A1", "SSO", 10)
    _log(db, ws, "i2", "A1", "sso", 40)  # the same theme, typed in another case
    _log(db, ws, "i3", "A2", "SSO", 5, kind="bug")
    _log(db, ws, "i4", "A3", "#SSO", 60)  # outside both 4-week windows
    _log(db, ws, "i5", "A1", "Exports", 3)
    top = fb.top(db, ws, now=NOW)
    assert [t.name for t in top.themes] == ["SSO", "Exports"]
    sso, exports = top.themes
    # ARR: 12,000 + 60,000 + 2,400; at risk: Globex (open flag) and Initech (red on the latest day).
    assert (sso.accounts, sso.items, sso.arr, sso.arr_at_risk) == (
        3,
        4,
        Decimal("74400.00"),
        Decimal("62400.00"),
    )
    assert (sso.accounts_at_risk, sso.renewals_90d, sso.last_4w, sso.prior_4w) == (2, 1, 2, 1)
    assert (exports.accounts, exports.arr, exports.arr_at_risk, exports.renewals_90d) == (
        1,
        Decimal("12000.00"),
        Decimal("0.00"),
        1,
    )
    requests = fb.top(db, ws, now=NOW, words_=["requests", "smb"])
    assert (requests.kind, requests.segment) == ("request", "smb")
    sso_smb = requests.themes[0]
    assert (sso_smb.name, sso_smb.accounts, sso_smb.arr, sso_smb.arr_at_risk) == (
        "SSO",
        2,
        Decimal("14400.00"),
        Decimal("2400.00"),
    )
    with pytest.raises(UnknownSegment):
        fb.top(db, ws, now=NOW, segment="mid")
    with pytest.raises(fb.FeedbackError, match="I don't understand"):
        fb.top(db, ws, now=NOW, words_=["loudest"])


def test_a_message_is_logged_once_and_bad_input_writes_nothing(db: Database, ws: int, tmp_path: Path) -> None:
    _setup(db, ws, tmp_path)
    first = _log(db, ws, fb.message_id("C1", "1.000001"), "acme", "SSO", 0)
    again = _log(db, ws, fb.message_id("C1", "1.000001"), "globex", "Other", 0)
    assert first.new and not again.new
    assert again.item.account == "Acme Corp" and again.item.theme == "SSO"
    assert _items(db) == 1
    with pytest.raises(fb.FeedbackError, match="kind"):
        _log(db, ws, "bad", "acme", "New theme", 0, kind="wish")
    with pytest.raises(NoSingleAccount):
        _log(db, ws, "typo", "acmee corp", "New theme", 0)  # a typo is confirmed, never guessed for a write
    with db.read() as session:
        assert store.theme_by_name(session, ws, "New theme") is None
    assert _items(db) == 1


def test_capture_needs_someone_the_bot_knows(db: Database, ws: int, tmp_path: Path) -> None:
    _setup(db, ws, tmp_path)
    capture = fb.Capture("x1", "they want SSO", "command", account="acme", logged_by="USTRANGER")
    with pytest.raises(fb.NotAllowed):
        fb.capture(db, ws, capture, admins=ADMINS, policy=POLICY, now=NOW)
    capture.logged_by = "UANA"
    done = fb.capture(db, ws, capture, admins=ADMINS, policy=POLICY, now=NOW)
    assert done.new and done.item.logged_by_slack == "UANA"
    with db.read() as session:
        row = session.scalars(select(m.FeedbackItem)).one()
        ana = session.scalar(select(m.Person.id).where(m.Person.slack_user_id == "UANA"))
    assert (row.logged_by_id, row.source, row.kind, row.importance) == (ana, "command", "request", "medium")


def test_curating_themes_merge_and_status_with_history(db: Database, ws: int, tmp_path: Path) -> None:
    _setup(db, ws, tmp_path)
    _log(db, ws, "i1", "A1", "SAML login", 3)
    _log(db, ws, "i2", "A2", "Single sign-on", 2)
    kw = {"admins": ADMINS, "policy": POLICY, "now": NOW}
    with pytest.raises(fb.NotAllowed):
        fb.merge_themes(db, ws, "SAML login", "Single sign-on", by="UANA", **kw)  # type: ignore[arg-type]
    src, dst, moved = fb.merge_themes(db, ws, "saml login", "single sign-on", by="UPAM", **kw)  # type: ignore[arg-type]
    assert (src.name, dst.name, moved) == ("SAML login", "Single sign-on", 1)
    themes, untriaged = fb.theme_list(db, ws)
    assert [(t.name, t.items, t.accounts) for t in themes] == [("Single sign-on", 2, 2)]
    assert untriaged == 0
    # The merged name leads to the theme it went into: new feedback under it is not lost.
    assert _log(db, ws, "i3", "A3", "SAML login", 1).item.theme == "Single sign-on"
    with pytest.raises(fb.NotAllowed):
        fb.set_status(db, ws, "Single sign-on", "planned", by="UBOB", **kw)  # type: ignore[arg-type]
    with pytest.raises(fb.FeedbackError, match="status"):
        fb.set_status(db, ws, "Single sign-on", "someday", by="UADMIN", **kw)  # type: ignore[arg-type]
    theme, before = fb.set_status(db, ws, "Single sign-on", "planned", by="UPAM", **kw)  # type: ignore[arg-type]
    assert (theme.status, before) == ("planned", "new")
    theme, before = fb.set_status(db, ws, "single sign-on", "shipped", by="UADMIN", **kw)  # type: ignore[arg-type]
    assert (theme.status, theme.shipped_on, before) == ("shipped", NOW.date(), "planned")
    with db.read() as session:
        history = session.execute(
            select(m.FeedbackThemeEvent.status_from, m.FeedbackThemeEvent.status_to, m.FeedbackThemeEvent.by)
            .where(m.FeedbackThemeEvent.event == "status")
            .order_by(m.FeedbackThemeEvent.id)
        ).all()
    assert [tuple(h) for h in history] == [("new", "planned", "UPAM"), ("planned", "shipped", "UADMIN")]
    assert fb.top(db, ws, now=NOW).themes == []  # a shipped theme leaves the ranking


def test_theme_suggestions_from_names_and_earlier_items(db: Database, ws: int, tmp_path: Path) -> None:
    _setup(db, ws, tmp_path)
    _log(db, ws, "i1", "A1", "Single sign-on", 3, text="We need SAML login through Okta")
    _log(db, ws, "i2", "A2", "Single sign-on", 2, text="Okta SSO would save our admins hours")
    _log(db, ws, "i3", "A3", "CSV export", 1, text="Export invoices to a spreadsheet")
    _log(db, ws, "i4", "A1", "Dark mode", 1, text="The UI is too bright at night")
    by_text = fb.suggest(db, ws, "Customer asks whether Okta SAML is on the roadmap")
    assert by_text[0].name == "Single sign-on"
    assert fb.suggest(db, ws, "csv exprot")[0].name == "CSV export"  # a typo in a theme's name
    assert fb.suggest(db, ws, "quarterly pricing review") == []
    # New items count at once (the index takes the items after the last one it read).
    _log(db, ws, "i5", "A2", "Dark mode", 0, text="quarterly pricing review is painful")
    assert fb.suggest(db, ws, "quarterly pricing review")[0].name == "Dark mode"
    # A theme created since keeps every earlier item's words (only a merge rebuilds them).
    _log(db, ws, "i6", "A3", "Webhooks", 0, text="Retry failed webhook deliveries")
    assert fb.suggest(db, ws, "webhook retries")[0].name == "Webhooks"
    assert fb.suggest(db, ws, "Okta SAML")[0].name == "Single sign-on"
    # After a merge, suggestions name the theme the items went to.
    fb.merge_themes(db, ws, "Dark mode", "CSV export", by="UADMIN", admins=ADMINS, policy=POLICY, now=NOW)
    assert fb.suggest(db, ws, "quarterly pricing review")[0].name == "CSV export"


def test_nps_comments_become_feedback_once(db: Database, ws: int, tmp_path: Path) -> None:
    _setup(db, ws, tmp_path)
    load(
        db,
        ws,
        "nps",
        """
        external_id,account,responded_at,score,respondent_email,comment
        N1,A1,2026-11-01T10:00:00Z,3,cfo@acme.com,Reports are too slow
        N2,A2,2026-11-02T10:00:00Z,10,,Love the new dashboard
        N3,A3,2026-11-03T10:00:00Z,7,,
        """,
        tmp_path,
    )
    assert fb.from_nps(db, ws, now=NOW) == 2
    assert fb.from_nps(db, ws, now=NOW) == 0
    with db.read() as session:
        rows = session.execute(
            select(
                m.FeedbackItem.external_id, m.FeedbackItem.kind, m.FeedbackItem.contact, m.FeedbackItem.source
            ).order_by(m.FeedbackItem.external_id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("nps:N1", "pain", "cfo@acme.com", "nps"),
        ("nps:N2", "praise", None, "nps"),
    ]


def test_a_renewal_after_a_shipped_theme_is_a_shared_win(db: Database, ws: int, tmp_path: Path) -> None:
    _setup(db, ws, tmp_path)
    shipped_at = NOW - dt.timedelta(days=60)
    _log(db, ws, "i1", "A1", "SSO", 90)  # Acme asked before it shipped
    _log(db, ws, "i2", "A3", "SSO", 10)  # Initech asked after: no credit to the theme
    fb.set_status(db, ws, "SSO", "shipped", by="UADMIN", admins=ADMINS, policy=POLICY, now=shipped_at)
    load(
        db,
        ws,
        "wins",
        """
        external_id,account,kind,text,amount,won_on,credited_teams
        W1,A1,renewal,Renewed,12000,2026-11-20,cs
        W3,A3,renewal,Renewed,2400,2026-11-20,sales
        """,
        tmp_path,
    )
    window = (NOW.date() - dt.timedelta(days=7), NOW.date())
    with db.write() as session:
        assert store.detect_shipped_wins(session, ws, *window, days=120) == 1
    with db.write() as session:
        assert store.detect_shipped_wins(session, ws, *window, days=120) == 0
        assert (
            store.detect_shipped_wins(session, ws, *window, days=30) == 0
        )  # 60 days is past a 30-day window
        win = session.scalars(select(m.Win).where(m.Win.kind == "shipped")).one()
        teams = set(session.scalars(select(m.WinCreditTeam.team).where(m.WinCreditTeam.win_id == win.id)))
        people = set(
            session.scalars(
                select(m.Person.slack_user_id)
                .join(m.WinCreditPerson, m.WinCreditPerson.person_id == m.Person.id)
                .where(m.WinCreditPerson.win_id == win.id)
            )
        )
    assert (win.amount, win.won_on, win.source) == (Decimal("12000.00"), dt.date(2026, 11, 20), "detected")
    assert "SSO" in win.text and "57 days" in win.text
    assert teams == {"product", "engineering", "cs", "sales"}
    assert people == {"UANA", "UBOB"}


def test_inside_slacks_three_seconds_a_big_rebuild_runs_in_the_background(
    db: Database, ws: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(db, ws, tmp_path)
    _log(db, ws, "i1", "A1", "Single sign-on", 3, text="We need SAML login through Okta")
    monkeypatch.setattr(fb, "REBUILD_IN_BACKGROUND_FROM", 1)  # as if there were 200,000 items
    monkeypatch.setattr(fb, "_INDEXES", {})  # a fresh process
    assert fb.suggest(db, ws, "Okta SAML", wait=False) == []  # no waiting inside a Slack request
    assert fb.suggest(db, ws, "Okta SAML")[0].name == "Single sign-on"  # built meanwhile
    assert fb.suggest(db, ws, "Okta SAML", wait=False)[0].name == "Single sign-on"


def test_an_open_save_play_puts_an_account_at_risk_an_expansion_play_does_not(
    db: Database, ws: int, tmp_path: Path
) -> None:
    from services.policies import EXPAND_TRIGGERS
    from storage.feedback import EXPANSION_TRIGGERS

    assert set(EXPANSION_TRIGGERS) == set(EXPAND_TRIGGERS)  # storage's copy of the services' list
    _setup(db, ws, tmp_path)
    _log(db, ws, "i5", "A1", "Exports", 3)
    with db.write() as session:
        acme = session.scalar(
            select(m.Account.id).where(m.Account.workspace_id == ws, m.Account.external_id == "A1")
        )
        session.add(
            m.Play(
                workspace_id=ws,
                account_id=acme,
                play_key="seats",
                open_key="seats",
                state="open",
                owner_role="csm",
                opened_at=NOW,
                source="signal",
                signal={"trigger": "seats_full", "values": {}},
            )
        )
    assert fb.top(db, ws, now=NOW).themes[0].arr_at_risk == Decimal("0.00")  # expansion: no risk
    with db.write() as session:
        session.add(
            m.Play(
                workspace_id=ws,
                account_id=acme,
                play_key="usage",
                open_key="usage",
                state="accepted",
                owner_role="csm",
                opened_at=NOW,
                source="signal",
                signal={"trigger": "usage_drop", "values": {}},
            )
        )
    assert fb.top(db, ws, now=NOW).themes[0].arr_at_risk == Decimal("12000.00")  # a save play: at risk
