"""One Jinja2 environment for every page: French formats (Babel), status labels, the CSRF
field, and `render()` which adds what every page needs (viewer, navigation, cookies)."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.compliance.rules import (
    OVERALL_STATUS_LABELS_FR,
    REASON_LABELS_FR,
    REQUIREMENT_LABELS_FR,
    REQUIREMENT_STATUS_LABELS_FR,
)
from app.web.security import csrf_token, set_pending_cookies

TEMPLATES = Path(__file__).parent / "templates"
PARIS = ZoneInfo("Europe/Paris")
LOCALE = "fr_FR"


def date_fr(value: date | datetime | None, empty: str = "—") -> str:
    """`12 mars 2027` (a datetime is shown on Paris's calendar)."""
    if value is None:
        return empty
    if isinstance(value, datetime):
        value = value.astimezone(PARIS).date() if value.tzinfo else value.date()
    return format_date(value, "d MMMM y", locale=LOCALE)


def datetime_fr(value: datetime | None, empty: str = "—") -> str:
    """`12 mars 2027 à 14:05` (Paris time)."""
    if value is None:
        return empty
    return format_datetime(value.astimezone(PARIS), "d MMMM y 'à' HH:mm", locale=LOCALE)


def month_fr(value: date | None) -> str:
    """`mars 2027`."""
    return "—" if value is None else format_date(value, "LLLL y", locale=LOCALE)


def money(value: Decimal | float | int | str | None, empty: str = "—") -> str:
    """`12 345,67 €`."""
    if value is None or value == "":
        return empty
    return format_currency(Decimal(str(value)), "EUR", locale=LOCALE)


def number(value: int | float | Decimal | None) -> str:
    return "—" if value is None else format_decimal(value, locale=LOCALE)


def _label(table: dict[Any, str], value: Any) -> str:
    # The tables are keyed by StrEnum members, which hash and compare as their string value.
    key = getattr(value, "value", value)
    return table.get(key, str(key))


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    date_fr=date_fr,
    datetime_fr=datetime_fr,
    month_fr=month_fr,
    money=money,
    number=number,
    overall_label=lambda v: _label(OVERALL_STATUS_LABELS_FR, v),
    status_label=lambda v: _label(REQUIREMENT_STATUS_LABELS_FR, v),
    requirement_label=lambda v: _label(REQUIREMENT_LABELS_FR, v),
    reason_label=lambda v: _label(REASON_LABELS_FR, v),
    value=lambda v: getattr(v, "value", v),
)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page: `viewer` (who is signed in, or None), `csrf_token`, `path` and the
    settings' accessibility status are always in the context."""
    settings = request.app.state.settings
    page = {
        "request": request,
        "path": request.url.path,
        "viewer": getattr(request.state, "viewer", None),
        "csrf_token": csrf_token(request),
        "accessibility": settings.web.accessibility,
        "proconnect_enabled": getattr(request.app.state, "proconnect", None) is not None,
        **(context or {}),
    }
    html = env.get_template(template).render(page)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers.setdefault("Cache-Control", "no-store")
    set_pending_cookies(request, response)
    return response
