"""The fixed vocabularies of the data model; import validation and the docs use these lists."""

from __future__ import annotations

TEAMS = ("sales", "marketing", "cs", "support", "product", "engineering", "revops", "leadership", "finance")
STAGES = ("qualified", "closed_won", "onboarded", "adopted", "champion", "renewal", "churned")
OWNER_ROLES = ("ae", "csm", "support_lead", "exec_sponsor")
# The team each owner role belongs to, for "owners by team" and crediting detected wins.
OWNER_ROLE_TEAMS = {"ae": "sales", "csm": "cs", "support_lead": "support", "exec_sponsor": "leadership"}
MILESTONE_KINDS = ("kickoff", "activation", "first_value", "adopted")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TOUCHPOINT_KINDS = ("qbr", "ebr", "exec_meeting", "meeting", "workshop", "call")
RISK_OUTCOMES = ("open", "saved", "churned")
WIN_KINDS = ("save", "expansion", "renewal", "milestone", "advocacy", "other")
