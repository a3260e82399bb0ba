"""A realistic, deterministic demo dataset of any size (same seed and as-of date → same data).

Each account's story — segment, start, monthly revenue with expansion, contraction, churn and
reactivation, a latent health that drives usage, tickets, NPS and risk — is derived from
``(seed, index)`` alone, so every kind is streamed on its own and memory stays small at any size.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from storage import vocab
from storage.kinds import KINDS
from storage.periods import add_months

KIND_ORDER = (
    "people",
    "accounts",
    "revenue",
    "usage",
    "features",
    "tickets",
    "touchpoints",
    "nps",
    "milestones",
    "risk_flags",
    "handoffs",
    "wins",
    "plays",
    "feedback",
)

# Customer feedback themes and what customers say about them (the demo's feedback kind). The first
# ones are asked for more by unhealthy accounts, so the ranking by ARR at risk has something to show.
_FEEDBACK = (
    ("Faster reports", "pain", ("Reports take minutes to load", "The monthly report times out")),
    ("Salesforce sync", "request", ("We need opportunities synced both ways", "Sync custom fields")),
    ("SSO / SAML", "request", ("IT requires SAML login through Okta", "Azure AD single sign-on please")),
    ("Audit log", "request", ("Security review asks for an audit trail", "Who changed this setting?")),
    ("Bulk export", "request", ("Export everything to CSV", "Scheduled exports to S3")),
    ("Mobile app", "request", ("Field staff want an iPhone app", "Approvals on Android")),
    ("Onboarding", "praise", ("The onboarding team was great", "Setup took one afternoon")),
)

_FIRST = (
    "North",
    "Blue",
    "Iron",
    "Bright",
    "Silver",
    "Cedar",
    "Quantum",
    "Harbor",
    "Summit",
    "Atlas",
    "Nova",
    "Pioneer",
    "Granite",
    "Velvet",
    "Crimson",
    "Lumen",
    "Orbit",
    "Prairie",
    "Vertex",
    "Willow",
    "Falcon",
    "Keystone",
    "Meridian",
    "Oak",
    "Polar",
    "Redwood",
    "Sterling",
    "Tidal",
    "Union",
    "Zephyr",
)
_SECOND = (
    "wind",
    "stone",
    "field",
    "bridge",
    "peak",
    "light",
    "forge",
    "line",
    "gate",
    "works",
    "path",
    "point",
    "wave",
    "loop",
    "craft",
    "yard",
    "scale",
    "mark",
    "grid",
    "leaf",
)
_SUFFIX = (
    "Inc",
    "Labs",
    "Systems",
    "Health",
    "Logistics",
    "Analytics",
    "Foods",
    "Media",
    "Capital",
    "Robotics",
)
_FEATURES = ("dashboards", "alerts", "api", "sso", "reports", "workflows", "integrations", "mobile")
_SEGMENTS = (
    ("enterprise", 0.10, (8_000, 40_000), 0.006),
    ("mid-market", 0.30, (1_500, 8_000), 0.012),
    ("smb", 0.60, (150, 1_500), 0.025),
)
# Acquisition (issue 13): source → (share of accounts, churn multiplier, campaigns as (name, share,
# churn multiplier); None: no campaign). Paid ads bring the bad-fit deals the cuts are meant to find.
_SOURCES = (
    ("inbound", 0.40, 0.8, (("webinar-series", 0.5, 1.0), ("seo-guides", 0.3, 0.9), (None, 0.2, 1.0))),
    ("outbound", 0.25, 1.0, (("q1-blitz", 0.6, 1.3), (None, 0.4, 1.0))),
    ("partner", 0.20, 0.6, (("partner-summit", 0.7, 0.8), (None, 0.3, 1.0))),
    ("paid-ads", 0.15, 1.8, (("black-friday", 0.5, 1.6), ("linkedin-abm", 0.5, 0.9))),
)


def _pick(rng: random.Random, options: tuple[Any, ...], share_at: int = 1) -> Any:
    roll, acc = rng.random(), 0.0
    for option in options:
        acc += option[share_at]
        if roll <= acc:
            return option
    return options[-1]


_TTV_TARGET_DAYS = {"enterprise": 90, "mid-market": 60, "smb": 30}
_FIRST_NAMES = (
    "Ana",
    "Ben",
    "Chen",
    "Dara",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jo",
    "Kofi",
    "Lea",
    "Mo",
    "Nia",
    "Omar",
    "Pia",
    "Quinn",
    "Raj",
    "Sara",
    "Tom",
    "Uma",
    "Vic",
    "Wen",
    "Yara",
    "Zoe",
)
_LAST_NAMES = (
    "Park",
    "Silva",
    "Okafor",
    "Novak",
    "Berg",
    "Cruz",
    "Haddad",
    "Ito",
    "Khan",
    "Lund",
    "Moreau",
    "Nair",
    "Ortiz",
    "Petrov",
    "Quist",
    "Rossi",
    "Sato",
    "Tan",
    "Udo",
    "Vega",
)


# Every _SIGNAL_EVERY-th account (by index remainder) carries one recent signal (Story.signal).
_SIGNAL_EVERY = 29
_SIGNALS = {3: "usage_drop", 7: "ticket_spike", 11: "first_value", 13: "seats_full", 17: "detractor"}
FIRST_VALUE_SIGNAL_DAYS = 150  # only accounts won this recently reach first value as a demo signal
SIGNAL_DAYS = 14  # usage_drop: the last 14 days fall to 30 % of the account's usual use


@dataclass(frozen=True)
class DemoConfig:
    accounts: int = 300
    months: int = 24
    seed: int = 7
    as_of: dt.date = dt.date(2026, 11, 23)
    usage_days: int = 60

    @property
    def first_month(self) -> dt.date:
        return add_months(self.as_of.replace(day=1), -(self.months - 1))

    @property
    def month_list(self) -> list[dt.date]:
        return [add_months(self.first_month, k) for k in range(self.months)]


def _ts(day: dt.date, rng: random.Random) -> str:
    return dt.datetime(
        day.year, day.month, day.day, rng.randrange(8, 18), rng.randrange(60), tzinfo=dt.UTC
    ).isoformat()


class Staff:
    """The go-to-market org: a VP per team, managers, and owners sized to the book of accounts."""

    def __init__(self, cfg: DemoConfig) -> None:
        self.people: list[dict[str, Any]] = []
        n = max(2, cfg.accounts // 60)
        sizes = {
            "sales": n,
            "cs": n,
            "support": max(2, n // 2),
            "marketing": 2,
            "product": 2,
            "engineering": 2,
            "revops": 1,
            "leadership": 1,
            "finance": 1,
        }
        rng = random.Random(f"{cfg.seed}:people")
        self.ceo = self._add(rng, "leadership", None, "ceo")
        self.by_team: dict[str, list[str]] = {}
        for team, size in sizes.items():
            if team == "leadership":
                continue
            head = self._add(rng, team, self.ceo, f"head-{team}")
            managers = [self._add(rng, team, head, f"mgr-{team}-{k}") for k in range(max(1, size // 8))]
            members = [self._add(rng, team, managers[k % len(managers)], f"{team}-{k}") for k in range(size)]
            self.by_team[team] = members

    def _add(self, rng: random.Random, team: str, manager: str | None, handle: str) -> str:
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        email = f"{first.lower()}.{last.lower()}.{handle}@demo.example"
        tz = rng.choice(("America/New_York", "America/Los_Angeles", "Europe/Berlin", "Europe/London"))
        self.people.append(
            {
                "email": email,
                "name": f"{first} {last}",
                "team": team,
                "manager_email": manager,
                "timezone": tz,
                "slack_user_id": None,
            }
        )
        return email

    def owner(self, team: str, index: int) -> str:
        members = self.by_team[team]
        return members[index % len(members)]


class Story:
    """One account's deterministic history."""

    def __init__(self, cfg: DemoConfig, staff: Staff, index: int) -> None:
        self.cfg, self.staff, self.index = cfg, staff, index
        rng = self.rng = random.Random(f"{cfg.seed}:{index}")
        roll = rng.random()
        acc = 0.0
        for name, share, (lo, hi), churn in _SEGMENTS:
            acc += share
            if roll <= acc:
                self.segment, base, self.churn_rate = name, rng.uniform(lo, hi), churn
                break
        self.health = rng.betavariate(5, 2)  # latent 0..1; drives usage, NPS, tickets and churn
        # Source and campaign from their own generator, so the rest of the story keeps its draws.
        acquisition = self.sub_rng("acquisition")
        self.source, _, source_churn, campaigns = _pick(acquisition, _SOURCES)
        self.campaign, _, campaign_churn = _pick(acquisition, campaigns)
        self.churn_rate *= source_churn * campaign_churn
        months = cfg.month_list
        # A third were customers before the window; the rest start inside it (new logos).
        # A growing company: new logos come faster in recent months.
        start = (
            0 if rng.random() < 0.35 else min(cfg.months - 1, 1 + int((cfg.months - 1) * rng.random() ** 0.7))
        )
        self.start_month = months[start]
        self.closed_won_on = self.start_month - dt.timedelta(days=rng.randrange(3, 25))
        self.mrr: dict[dt.date, Decimal] = {}
        current = Decimal(round(base / 10) * 10)
        paying = True
        for k in range(start, cfg.months):
            m = months[k]
            if k > start:
                r = rng.random()
                churn_p = self.churn_rate * (2.5 - 2 * self.health)
                if paying and r < churn_p:
                    paying = False
                elif not paying and r < 0.04:
                    paying = True  # reactivation
                elif paying and r < churn_p + 0.05 * self.health:
                    current = (current * Decimal(str(round(rng.uniform(1.1, 1.5), 2)))).quantize(Decimal("1"))
                elif paying and r < churn_p + 0.05 * self.health + 0.03:
                    current = (current * Decimal(str(round(rng.uniform(0.6, 0.9), 2)))).quantize(Decimal("1"))
            self.mrr[m] = current if paying else Decimal(0)

    @property
    def external_id(self) -> str:
        return f"ACC-{self.index + 1:06d}"

    @cached_property
    def name(self) -> str:
        i = self.index
        base = f"{_FIRST[i % len(_FIRST)]}{_SECOND[(i // len(_FIRST)) % len(_SECOND)]}"
        suffix = _SUFFIX[(i // (len(_FIRST) * len(_SECOND))) % len(_SUFFIX)]
        cycle = i // (len(_FIRST) * len(_SECOND) * len(_SUFFIX))
        return f"{base} {suffix}" + (f" {cycle + 1}" if cycle else "")

    @property
    def domain(self) -> str:
        return self.name.lower().replace(" ", "-") + ".example"

    @property
    def paying_now(self) -> bool:
        return self.mrr.get(self.cfg.month_list[-1], Decimal(0)) > 0

    def owner(self, team: str) -> str:
        return self.staff.owner(team, self.index)

    @property
    def signal(self) -> str | None:
        """A few paying accounts carry a fresh signal at the as-of date, so that every play trigger
        (docs/plays.md) has something to fire for on day one."""
        if not self.paying_now:
            return None
        signal = _SIGNALS.get(self.index % _SIGNAL_EVERY)
        if signal == "first_value" and self.closed_won_on < self.cfg.as_of - dt.timedelta(
            days=FIRST_VALUE_SIGNAL_DAYS
        ):
            # First value is reached by a new customer: an account won years ago reaching it this week
            # would put a 700-day time to value into the month's median.
            return None
        return signal

    def sub_rng(self, kind: str) -> random.Random:
        return random.Random(f"{self.cfg.seed}:{self.index}:{kind}")


class DemoData:
    def __init__(self, cfg: DemoConfig) -> None:
        self.cfg = cfg
        self.staff = Staff(cfg)

    def stories(self) -> Iterator[Story]:
        for i in range(self.cfg.accounts):
            yield Story(self.cfg, self.staff, i)

    def records(self, kind: str) -> Iterator[dict[str, Any]]:
        if kind == "people":
            yield from self.staff.people
            return
        make = getattr(self, f"_{kind}")
        for story in self.stories():
            yield from make(story)

    # -- one generator per kind --------------------------------------------------------------

    def _accounts(self, s: Story) -> Iterator[dict[str, Any]]:
        renewal = s.closed_won_on.replace(year=s.closed_won_on.year + 1)
        while renewal <= self.cfg.as_of:
            renewal = renewal.replace(year=renewal.year + 1)
        yield {
            "external_id": s.external_id,
            "name": s.name,
            "domain": s.domain,
            "segment": s.segment,
            "plan": {"enterprise": "Enterprise", "mid-market": "Business", "smb": "Starter"}[s.segment],
            "closed_won_on": s.closed_won_on,
            "renewal_on": renewal if s.paying_now else None,
            "crm_url": f"https://crm.demo.example/accounts/{s.external_id}",
            "ae_email": s.owner("sales"),
            "csm_email": s.owner("cs"),
            "support_lead_email": s.owner("support"),
            "exec_sponsor_email": self.staff.ceo if s.segment == "enterprise" else None,
            "source": s.source,
            "campaign": s.campaign,
        }

    def _revenue(self, s: Story) -> Iterator[dict[str, Any]]:
        for month, mrr in s.mrr.items():
            yield {"account": s.external_id, "month": month, "mrr": mrr}

    def _seats(self, s: Story) -> int:
        last = max(s.mrr.values())
        return max(5, int(last / 40))

    def _usage(self, s: Story) -> Iterator[dict[str, Any]]:
        if not s.paying_now:
            return
        rng, seats = s.sub_rng("usage"), self._seats(s)
        ratio = 0.1 + 0.6 * s.health
        for k in range(self.cfg.usage_days - 1, -1, -1):
            day = self.cfg.as_of - dt.timedelta(days=k)
            weekend = 0.35 if day.weekday() >= 5 else 1.0
            drift = 1.0 - (0.4 * (1 - s.health) * (self.cfg.usage_days - k) / self.cfg.usage_days)
            dau = int(seats * ratio * weekend * drift * rng.uniform(0.8, 1.2))
            if s.signal == "usage_drop" and k < SIGNAL_DAYS:
                dau = int(dau * 0.3)
            elif s.signal == "seats_full" and k < 7:
                dau = max(dau, -(-seats * 95 // 100))
            yield {
                "account": s.external_id,
                "day": day,
                "active_users": max(0, min(seats, dau)),
                "licensed_seats": seats,
            }

    def _features(self, s: Story) -> Iterator[dict[str, Any]]:
        if not s.paying_now:
            return
        rng, seats = s.sub_rng("features"), self._seats(s)
        used = [f for f in _FEATURES if rng.random() < 0.2 + 0.7 * s.health]
        for week in range(4):
            day = self.cfg.as_of - dt.timedelta(days=7 * week)
            for feature in used:
                yield {
                    "account": s.external_id,
                    "day": day,
                    "feature": feature,
                    "active_users": max(1, int(seats * s.health * rng.uniform(0.1, 0.5))),
                }

    def _tickets(self, s: Story) -> Iterator[dict[str, Any]]:
        rng = s.sub_rng("tickets")
        count = int(rng.uniform(0, 6) * (1.6 - s.health))
        as_of = dt.datetime.combine(self.cfg.as_of, dt.time(), dt.UTC)
        for n in range(count):
            opened = as_of - dt.timedelta(days=rng.randrange(1, 180), minutes=rng.randrange(1, 600))
            priority = rng.choices(vocab.TICKET_PRIORITIES, (3, 6, 2, 1 if s.health > 0.5 else 3))[0]
            closed = opened + dt.timedelta(hours=rng.uniform(0.5, 12 * 24))
            is_open = closed > as_of or rng.random() < 0.08
            csat = (
                None
                if is_open or rng.random() < 0.4
                else max(1, min(5, round(1 + 4 * s.health + rng.uniform(-1, 1))))
            )
            yield {
                "external_id": f"T-{s.index + 1:06d}-{n}",
                "account": s.external_id,
                "opened_at": opened.isoformat(),
                "closed_at": None if is_open else closed.isoformat(),
                "priority": priority,
                "csat": csat,
            }

        if s.signal == "ticket_spike":
            for n in range(3):
                opened = as_of - dt.timedelta(days=1 + 3 * n, hours=rng.randrange(1, 10))
                yield {
                    "external_id": f"T-{s.index + 1:06d}-spike{n}",
                    "account": s.external_id,
                    "opened_at": opened.isoformat(),
                    "closed_at": None,
                    "priority": "high" if n else "urgent",
                    "csat": None,
                }

    def _touchpoints(self, s: Story) -> Iterator[dict[str, Any]]:
        rng = s.sub_rng("touchpoints")
        every = {"enterprise": 30, "mid-market": 60, "smb": 120}[s.segment]
        for n, back in enumerate(range(rng.randrange(5, every), 270, every)):
            if rng.random() > 0.3 + 0.7 * s.health:
                continue
            kind = (
                "ebr" if s.segment == "enterprise" and n % 3 == 0 else rng.choice(("qbr", "call", "meeting"))
            )
            yield {
                "external_id": f"TP-{s.index + 1:06d}-{n}",
                "account": s.external_id,
                "kind": kind,
                "occurred_at": _ts(self.cfg.as_of - dt.timedelta(days=back), rng),
                "person_email": s.owner("cs"),
                "notes": None,
            }

    def _nps(self, s: Story) -> Iterator[dict[str, Any]]:
        rng = s.sub_rng("nps")
        for n in range(rng.choice((0, 0, 1, 2))):
            score = max(0, min(10, round(10 * s.health + rng.uniform(-2, 2))))
            yield {
                "external_id": f"NPS-{s.index + 1:06d}-{n}",
                "account": s.external_id,
                "responded_at": _ts(self.cfg.as_of - dt.timedelta(days=rng.randrange(1, 170)), rng),
                "score": score,
                "respondent_email": None,
                "comment": None,
            }

        if s.signal == "detractor":
            yield {
                "external_id": f"NPS-{s.index + 1:06d}-d",
                "account": s.external_id,
                "responded_at": _ts(self.cfg.as_of - dt.timedelta(days=2), rng),
                "score": 3,
                "respondent_email": None,
                "comment": "Support takes too long and the reports are slow",
            }

    def _milestones(self, s: Story) -> Iterator[dict[str, Any]]:
        rng = s.sub_rng("milestones")
        target_ttv = _TTV_TARGET_DAYS[s.segment]
        plan = {
            "kickoff": 14,
            "activation": target_ttv // 2,
            "first_value": target_ttv,
            "adopted": target_ttv * 2,
        }
        if s.signal == "first_value":  # reached first value three days ago
            reached = {"kickoff": 40, "activation": 20, "first_value": 3}
            for kind, back in reached.items():
                target = s.closed_won_on + dt.timedelta(days=plan[kind])
                yield {
                    "account": s.external_id,
                    "kind": kind,
                    "target_on": target,
                    "achieved_on": self.cfg.as_of - dt.timedelta(days=back),
                }
            return
        for kind, days in plan.items():
            target = s.closed_won_on + dt.timedelta(days=days)
            actual = s.closed_won_on + dt.timedelta(
                days=int(days * rng.uniform(0.6, 1.2 + 1.2 * (1 - s.health)))
            )
            achieved = actual if actual <= self.cfg.as_of and rng.random() < 0.5 + 0.5 * s.health else None
            yield {"account": s.external_id, "kind": kind, "target_on": target, "achieved_on": achieved}
            if achieved is None:
                return

    def _risk_flags(self, s: Story) -> Iterator[dict[str, Any]]:
        rng = s.sub_rng("risk")
        if rng.random() > 0.35 * (1.3 - s.health):
            return
        flagged = self.cfg.as_of - dt.timedelta(days=rng.randrange(5, 330))
        resolved = flagged + dt.timedelta(days=rng.randrange(10, 90))
        if resolved > self.cfg.as_of:
            outcome, resolved_on = "open", None
        else:
            outcome = "saved" if s.paying_now or rng.random() < 0.2 else "churned"
            resolved_on = resolved
        yield {
            "external_id": f"R-{s.index + 1:06d}",
            "account": s.external_id,
            "flagged_on": flagged,
            "reason": rng.choice(
                (
                    "usage dropped",
                    "champion left",
                    "budget cut",
                    "competitor evaluation",
                    "support escalations",
                )
            ),
            "owner_email": s.owner("cs"),
            "outcome": outcome,
            "resolved_on": resolved_on,
        }

    def _plays(self, s: Story) -> Iterator[dict[str, Any]]:
        """Save calls run in the CRM for each risk flag (closed with the flag's outcome), and an
        expansion play before some expansions: the plays report has a history on day one."""
        rng = s.sub_rng("plays")
        for flag in self._risk_flags(s):
            opened = dt.datetime.combine(flag["flagged_on"], dt.time(rng.randrange(9, 17)), dt.UTC)
            resolved = flag["resolved_on"]
            yield {
                "external_id": f"CRM-{s.index + 1:06d}-save",
                "account": s.external_id,
                "play": "save_call",
                "owner_email": s.owner("cs"),
                "owner_role": "csm",
                "opened_at": opened.isoformat(),
                "due_at": (opened + dt.timedelta(days=2)).isoformat(),
                "closed_at": None
                if resolved is None
                else dt.datetime.combine(resolved, dt.time(16), dt.UTC).isoformat(),
                "outcome": None if resolved is None else flag["outcome"],
                "note": None,
            }
        months = sorted(s.mrr)
        for prev, cur in itertools.pairwise(months):
            before, after = s.mrr[prev], s.mrr[cur]
            if before > 0 and after > before and rng.random() < 0.3:
                opened = dt.datetime.combine(
                    prev + dt.timedelta(days=rng.randrange(0, 20)), dt.time(10), dt.UTC
                )
                yield {
                    "external_id": f"CRM-{s.index + 1:06d}-{cur:%Y%m}",
                    "account": s.external_id,
                    "play": "seats_full",
                    "owner_email": s.owner("sales"),
                    "owner_role": "ae",
                    "opened_at": opened.isoformat(),
                    "due_at": (opened + dt.timedelta(days=5)).isoformat(),
                    "closed_at": dt.datetime.combine(
                        cur + dt.timedelta(days=3), dt.time(15), dt.UTC
                    ).isoformat(),
                    "outcome": "expanded",
                    "note": f"{s.name} took more seats",
                }

    def _handoffs(self, s: Story) -> Iterator[dict[str, Any]]:
        rng = s.sub_rng("handoffs")
        as_of = dt.datetime.combine(self.cfg.as_of, dt.time(12), dt.UTC)
        opened = dt.datetime.combine(s.closed_won_on, dt.time(rng.randrange(9, 17)), dt.UTC)
        steps = (
            ("sales_to_cs", "sales", "cs", s.owner("cs"), 48),
            ("cs_kickoff", "cs", "cs", s.owner("cs"), 120),
        )
        for n, (kind, src, dst, owner, hours) in enumerate(steps):
            due = opened + dt.timedelta(hours=hours)
            took = dt.timedelta(hours=hours * rng.uniform(0.2, 1.0 + 1.5 * (1 - s.health)))
            done = opened + took
            yield {
                "external_id": f"H-{s.index + 1:06d}-{n}",
                "account": s.external_id,
                "kind": kind,
                "from_team": src,
                "to_team": dst,
                "owner_email": owner,
                "opened_at": opened.isoformat(),
                "due_at": due.isoformat(),
                "completed_at": done.isoformat() if done <= as_of else None,
            }
            opened = done if done <= as_of else opened
        # Escalations from CS to support over the last quarter, more of them for unhealthy accounts.
        for n in range(int(rng.uniform(0, 3) * (1.3 - s.health))):
            opened = as_of - dt.timedelta(hours=rng.randrange(1, 90 * 24))
            due = opened + dt.timedelta(hours=24)
            done = opened + dt.timedelta(hours=rng.uniform(2, 24 + 36 * (1 - s.health)))
            yield {
                "external_id": f"H-{s.index + 1:06d}-esc{n}",
                "account": s.external_id,
                "kind": "escalation",
                "from_team": "cs",
                "to_team": "support",
                "owner_email": s.owner("support"),
                "opened_at": opened.isoformat(),
                "due_at": due.isoformat(),
                "completed_at": done.isoformat() if done <= as_of else None,
            }

    def _wins(self, s: Story) -> Iterator[dict[str, Any]]:
        rng = s.sub_rng("wins")
        months = sorted(s.mrr)
        for prev, cur in itertools.pairwise(months):
            before, after = s.mrr[prev], s.mrr[cur]
            if before > 0 and after > before and rng.random() < 0.6:
                amount = (after - before) * 12
                yield {
                    "external_id": f"W-{s.index + 1:06d}-{cur:%Y%m}",
                    "account": s.external_id,
                    "kind": "expansion",
                    "text": f"{s.name} expanded: +{amount:,.0f} ARR",
                    "amount": amount,
                    "won_on": cur + dt.timedelta(days=rng.randrange(0, 27)),
                    "recorded_by_email": s.owner("sales"),
                    "credited_people": [s.owner("sales"), s.owner("cs")],
                    "credited_teams": ["sales", "cs"],
                }
        # Champions: some adopted, healthy accounts give a reference or case study (stage conversion).
        adopted = next(
            (ms for ms in self._milestones(s) if ms["kind"] == "adopted" and ms["achieved_on"]), None
        )
        if adopted is not None and s.health > 0.6 and rng.random() < 0.6:
            won = adopted["achieved_on"] + dt.timedelta(days=rng.randrange(20, 240))
            if won <= self.cfg.as_of:
                yield {
                    "external_id": f"W-{s.index + 1:06d}-advocacy",
                    "account": s.external_id,
                    "kind": "advocacy",
                    "text": f"{s.name} agreed to a case study",
                    "amount": None,
                    "won_on": won,
                    "recorded_by_email": s.owner("cs"),
                    "credited_people": [s.owner("cs")],
                    "credited_teams": ["cs", "marketing"],
                }
        for flag in self._risk_flags(s):
            if flag["outcome"] == "saved":
                yield {
                    "external_id": f"W-{s.index + 1:06d}-save",
                    "account": s.external_id,
                    "kind": "save",
                    "text": f"Saved {s.name} ({flag['reason']})",
                    "amount": None,
                    "won_on": flag["resolved_on"],
                    "recorded_by_email": s.owner("cs"),
                    "credited_people": [s.owner("cs"), s.owner("support")],
                    "credited_teams": ["cs", "support", "product"],
                }

    def _feedback(self, s: Story) -> Iterator[dict[str, Any]]:
        rng = s.sub_rng("feedback")
        for n in range(rng.choice((0, 0, 1, 1, 2, 3))):
            # Unhealthy accounts mostly ask for the first two themes; healthy ones for any.
            pick = rng.randrange(2) if rng.random() > s.health else rng.randrange(len(_FEEDBACK))
            theme, kind, texts = _FEEDBACK[pick]
            yield {
                "external_id": f"FB-{s.index + 1:06d}-{n}",
                "account": s.external_id,
                "kind": kind,
                "text": rng.choice(texts),
                "theme": theme,
                "importance": rng.choice(("low", "medium", "medium", "high")),
                "contact": None,
                "source": "import",
                "link": None,
                "logged_at": _ts(self.cfg.as_of - dt.timedelta(days=rng.randrange(1, 120)), rng),
                "logged_by_email": s.owner("cs"),
            }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_files(data: DemoData, out: Path) -> dict[str, Path]:
    """Write every kind as an importable file: CSV, and JSON Lines for wins (lists read better)."""
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    for kind in KIND_ORDER:
        fields = list(KINDS[kind].model.model_fields)
        if kind == "wins":
            path = out / "wins.jsonl"
            with path.open("w", encoding="utf-8") as fh:
                for rec in data.records(kind):
                    fh.write(json.dumps(rec, default=_cell) + "\n")
        else:
            path = out / f"{kind}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(fields)
                for rec in data.records(kind):
                    writer.writerow([_cell(rec.get(f)) for f in fields])
        paths[kind] = path
    return paths


# --- demo-data --me: what the person trying the demo owns (storage/demo_me.py) --------------------
# Each step adds one part of a portfolio for that person, in one transaction, and says what it added.
# A part of the product with something to show them in Slack appends its step here.
from storage.demo_me import MeStep, open_handoffs, own_accounts  # noqa: E402

ME_STEPS: list[MeStep] = [own_accounts, open_handoffs]
