"""Between the rules and the rows: policy from settings, (de)serialised evidence and reasons,
and the due dates that apply to a requirement state given the live contracts behind it."""

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from app.compliance.rules import (
    DEFAULT_CPV_REQUIREMENTS,
    CompliancePolicy,
    Evidence,
    Reason,
    RequirementResult,
    RequirementStatus,
    RequirementType,
    becomes_non_compliant_on,
    current_due_date,
    next_due_date,
    requirement_status,
)
from app.config import Settings
from app.contracts.models import Contract

PARIS = ZoneInfo("Europe/Paris")


def policy_from(settings: Settings) -> CompliancePolicy:
    c = settings.compliance
    table = DEFAULT_CPV_REQUIREMENTS
    if c.cpv_requirements is not None:
        table = {k: tuple(RequirementType(t) for t in v) for k, v in c.cpv_requirements.items()}
    return CompliancePolicy(
        expiring_days=c.expiring_days,
        grace_days=c.grace_days,
        tolerance_days=c.tolerance_days,
        cpv_requirements=table,
        registration_not_compulsory=frozenset(x.upper() for x in c.registration_not_compulsory),
        sandbox_counts=settings.environment in ("development", "test"),
    )


def today_in_paris(now: datetime) -> date:
    """Due dates and validity are calendar days in France."""
    return now.astimezone(PARIS).date()


def start_of(day: date) -> datetime:
    """The instant a due date begins (midnight, Paris time), in UTC."""
    return datetime.combine(day, time(0), PARIS).astimezone(UTC)


# --- evidence and reasons as JSON (through pydantic: the rules' dataclasses are the schema) ------

_EVIDENCE: TypeAdapter[Evidence] = TypeAdapter(Evidence)
_REASON: TypeAdapter[Reason] = TypeAdapter(Reason)


def evidence_to_json(evidence: Evidence) -> dict[str, Any]:
    data: dict[str, Any] = _EVIDENCE.dump_python(evidence, mode="json")
    return data


def evidence_from_json(data: dict[str, Any] | None) -> Evidence | None:
    return _EVIDENCE.validate_python(data) if data else None


def reason_to_json(reason: Reason) -> dict[str, Any]:
    data: dict[str, Any] = _REASON.dump_python(reason, mode="json")
    return data


def reason_from_json(data: dict[str, Any]) -> Reason:
    # Stored reasons are `reason_to_json`'s output: built directly, the validator only for
    # anything else (an older or hand-edited shape).
    since, requirement = data.get("since"), data.get("requirement")
    if isinstance(since, str | None) and data.keys() <= _REASON_KEYS:
        try:
            return Reason(
                data["code"],
                data["message"],
                date.fromisoformat(since) if since else None,
                data.get("evidence"),
                RequirementType(requirement) if requirement else None,
                data.get("article"),
            )
        except (KeyError, ValueError, TypeError):
            pass
    return _REASON.validate_python(data)


_REASON_KEYS = frozenset({"code", "message", "since", "evidence", "requirement", "article"})


def result_from_row(
    status: str | None,
    reasons: list[dict[str, Any]],
    valid_until: date | None,
    policy: CompliancePolicy | None = None,
) -> RequirementResult:
    """A stored requirement result; with `policy`, the day its gap becomes a non-compliance
    (derived from the stored reasons, as the rules do)."""
    result = RequirementResult(
        RequirementStatus(status or RequirementStatus.MISSING),
        [reason_from_json(r) for r in reasons],
        valid_until,
    )
    if policy is None:
        return result
    return result._replace(non_compliant_on=becomes_non_compliant_on(result, policy=policy))


# --- due dates over several contracts --------------------------------------------------------


def status_due_on(contracts: list[Contract], today: date) -> date:
    """The due date evidence must satisfy today: the latest current one across the contracts
    (the strictest), or the first notification ahead when none has started yet."""
    current = [
        d for c in contracts if (d := current_due_date(c.notified_on, c.ends_on, today)) is not None
    ]
    return max(current) if current else min(c.notified_on for c in contracts)


def pending_due_on(contracts: list[Contract], served: date | None, today: date) -> date | None:
    """The next due date not yet served by a check: a missed one is caught up (the current due
    date, once), otherwise the first one ahead. None: no more check before the end."""
    candidates: list[date] = []
    for c in contracts:
        current = current_due_date(c.notified_on, c.ends_on, today)
        if current is None and (served is None or served < c.notified_on):
            candidates.append(c.notified_on)  # not notified yet: checked on notification
            continue
        if current is not None and (served is None or current > served):
            candidates.append(current)
            continue
        assert served is not None
        following = next_due_date(c.notified_on, c.ends_on, max(served, today))
        if following is not None:
            candidates.append(following)
    return min(candidates) if candidates else None


def status_next_due_on(contracts: list[Contract], due_on: date) -> date | None:
    """The following due date after `due_on` across the contracts (the earliest), or None when
    every contract ends before another one: `expiring` looks at it."""
    following = [
        d for c in contracts if (d := next_due_date(c.notified_on, c.ends_on, due_on)) is not None
    ]
    return min(following) if following else None


def evaluate(
    rtype: RequirementType,
    evidence: Evidence | None,
    *,
    due_on: date,
    today: date,
    policy: CompliancePolicy,
    next_due_on: date | None = None,
    check_failed: bool = False,
    requested_on: date | None = None,
) -> RequirementResult:
    return requirement_status(
        rtype,
        evidence,
        due_on=due_on,
        today=today,
        policy=policy,
        next_due_on=next_due_on,
        check_failed=check_failed,
        requested_on=requested_on,
    )
