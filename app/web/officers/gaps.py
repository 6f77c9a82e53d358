"""`/ecarts`: every requirement of the buyer's suppliers that is not in order, with the API's
filters (`GET /v1/gaps`: statuses, requirement, due within N days), by pages of 50 on the id
cursor, and `/ecarts.csv`: the same view as one file for a French spreadsheet."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from app.compliance import exports, queries
from app.compliance.rules import (
    REQUIREMENT_LABELS_FR,
    REQUIREMENT_STATUS_LABELS_FR,
    RequirementStatus,
    RequirementType,
)
from app.deps import ComplianceDep, SessionDep
from app.errors import ValidationFailed
from app.suppliers.queries import path_key
from app.web.sessions import OfficerPage
from app.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
HORIZONS = {"7": "7 jours", "30": "30 jours", "90": "90 jours", "180": "6 mois"}


@dataclass(frozen=True)
class Shown:
    statuses: frozenset[str] = frozenset()
    requirement: str | None = None
    horizon: str | None = None

    def query(self, **extra: object) -> str:
        pairs: list[tuple[str, object]] = [("statut", s) for s in sorted(self.statuses)]
        if self.requirement:
            pairs.append(("exigence", self.requirement))
        if self.horizon:
            pairs.append(("echeance", self.horizon))
        pairs += [(k, v) for k, v in extra.items() if v is not None]
        return urlencode(pairs)


def _choice(value: str | None, allowed: Collection[str], what: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise ValidationFailed(f"{what} « {str(value)[:40]} » inconnu.", code="invalid_choice")
    return value


def _filters(
    statut: Annotated[list[str] | None, Query()] = None,
    exigence: Annotated[str | None, Query(max_length=40)] = None,
    echeance: Annotated[str | None, Query(max_length=4)] = None,
) -> tuple[queries.GapFilters, Shown]:
    statuses = {_choice(s, {x.value for x in RequirementStatus}, "Statut") for s in statut or []}
    requirement = _choice(exigence, {t.value for t in RequirementType}, "Exigence")
    horizon = _choice(echeance, HORIZONS, "Échéance")
    chosen = frozenset(s for s in statuses if s)
    filters = queries.GapFilters(
        statuses=sorted(chosen) or None,
        requirement=requirement,
        due_within=int(horizon) if horizon else None,
    )
    return filters, Shown(chosen, requirement, horizon)


Filters = Annotated[tuple[queries.GapFilters, Shown], Depends(_filters)]


@router.get("/ecarts")
async def gap_list(
    request: Request,
    viewer: OfficerPage,
    session: SessionDep,
    compliance: ComplianceDep,
    filters: Filters,
    apres: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    assert viewer.buyer is not None
    criteria, shown = filters
    rows = await queries.list_gaps(
        session, viewer.buyer.id, criteria, after=apres, limit=PAGE_SIZE + 1
    )
    gaps = [
        (queries.gap_public(r, s, compliance.policy), path_key(s.siren, s.country, s.foreign_id))
        for r, s in rows[:PAGE_SIZE]
    ]
    following = str(rows[PAGE_SIZE - 1][0].id) if len(rows) > PAGE_SIZE else None
    return render(
        request,
        "officers/ecarts.html",
        {
            "gaps": gaps,
            "shown": shown,
            "query": shown.query(),
            "next_link": "/ecarts?" + shown.query(apres=following) if following else None,
            "first_link": ("/ecarts?" + shown.query()).rstrip("?") if apres else None,
            "statuses": REQUIREMENT_STATUS_LABELS_FR,
            "requirements": REQUIREMENT_LABELS_FR,
            "horizons": HORIZONS,
            "filtered": bool(criteria.statuses or criteria.requirement or criteria.due_within),
        },
    )


@router.get("/ecarts.csv")
async def gap_list_csv(request: Request, viewer: OfficerPage, filters: Filters) -> Response:
    """The whole filtered list (every page), streamed by batches (`exports.stream_gaps_csv`)."""
    assert viewer.buyer is not None
    lines = exports.stream_gaps_csv(request.app.state.sessionmaker, viewer.buyer.id, filters[0])
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{exports.CSV_FILENAME}"',
            "Cache-Control": "private, no-store",
        },
    )
