"""The small data sets the Slack scenario tests share: people, accounts and an SLA policy."""

from __future__ import annotations

PEOPLE = """
    email,name,team,slack_user_id,manager_email
    boss@x.io,Bea Boss,leadership,UBOSS,
    ana@x.io,Ana Lima,cs,UANA,boss@x.io
    bob@x.io,Bob Ng,sales,UBOB,boss@x.io
"""
ACCOUNTS = """
    external_id,name,domain,segment,csm_email,ae_email,renewal_on
    A1,Acme Corp,acme.com,smb,ana@x.io,bob@x.io,2027-01-15
    A2,Acme Logistics,acmelog.io,smb,,bob@x.io,
    A3,Globex,globex.com,enterprise,ana@x.io,,
"""
SLA_POLICY = """
[sla]
escalation_channel = "CESC"

[[sla.policies]]
kind = "sales_to_cs"
hours = 8
max_snooze_hours = 6
escalation = [{ to = "manager", after_hours = 2 }]
"""


def checklist(first_value: str = "2026-12-15", plan: str = "Go live with 3 teams") -> dict:
    """The /handoff checklist dialog's values, as Slack submits them."""
    return {
        "success_plan": {"value": {"value": plan}},
        "contacts": {"value": {"value": "Dana (champion), Lee (admin)"}},
        "targets": {"value": {"value": "40 seats, 60 % weekly active"}},
        "first_value": {"value": {"selected_date": first_value}},
    }
