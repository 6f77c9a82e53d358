"""`/`: the buyer's dashboard — suppliers by status, the next twelve months, the most urgent
gaps, the problems on Vigie's side."""

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.buyers.tokens import expires_soon, token_expiry
from app.compliance.dashboard import buyer_dashboard
from app.compliance.evaluation import start_of
from app.compliance.rules import OVERALL_STATUS_LABELS_FR, OverallStatus
from app.deps import SessionDep
from app.web.charts import grouped_columns, horizontal_bars
from app.web.sessions import OfficerPage
from app.web.templating import LOCALE, date_fr, render

router = APIRouter(include_in_schema=False)
STATUS_ORDER = [
    OverallStatus.NON_COMPLIANT,
    OverallStatus.AT_RISK,
    OverallStatus.COMPLIANT,
    OverallStatus.NOT_CHECKED,
]


@router.get("/")
async def dashboard(request: Request, viewer: OfficerPage, session: SessionDep) -> Response:
    assert viewer.buyer is not None
    compliance = request.app.state.compliance
    board = await buyer_dashboard(session, viewer.buyer.id, policy=compliance.policy)
    statuses = horizontal_bars(
        [
            (OVERALL_STATUS_LABELS_FR[s], board.by_status[s], f"fill--{s.value}")
            for s in STATUS_ORDER
        ]
    )
    months = grouped_columns(
        [
            (
                format_date(m.first_day, "MMM", locale=LOCALE),
                [m.checks_due, m.certificates_expiring],
            )
            for m in board.months
        ],
        [
            ("Vérifications prévues", "fill--due"),
            ("Attestations arrivant à échéance", "fill--expiring"),
        ],
    )
    problems = []
    if board.failed_checks:
        problems.append(
            f"{board.failed_checks} vérification(s) échouent du fait de Vigie (jeton, droits ou "
            "réponse inexploitable de la source) : elles ne comptent pas contre les titulaires."
        )
    if board.token_expires_at is not None and expires_soon(start_of(board.token_expires_at)):
        problems.append(
            f"Le jeton API Entreprise de l'acheteur expire le {date_fr(board.token_expires_at)} : "
            "demandez-en le renouvellement."
        )
    platform = request.app.state.settings.api_entreprise.token
    platform_expiry = token_expiry(platform) if platform is not None else None
    if platform_expiry is not None and expires_soon(platform_expiry):
        problems.append(
            f"Le jeton API Entreprise de la plateforme expire le {date_fr(platform_expiry)}."
        )
    return render(
        request,
        "officers/tableau_de_bord.html",
        {
            "board": board,
            "status_order": STATUS_ORDER,
            "statuses": statuses,
            "months": months,
            "problems": problems,
        },
    )
