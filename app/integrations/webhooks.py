"""The webhook delivery client: signs a message per Standard Webhooks (the `standardwebhooks`
library: `webhook-id`, `webhook-timestamp`, `webhook-signature` with one `v1,…` signature per
secret, so both secrets sign during a rotation) and POSTs it with one long-lived
`httpx.AsyncClient` (`transport=` is the test seam).

The SSRF guard runs before every delivery, not only at registration (a name may resolve
elsewhere later): in production the URL must be https and none of the host's addresses may be
private, loopback, link-local, reserved or multicast; development and tests allow http and
loopback so an ERP can be tried locally. Redirects are never followed.
"""

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

Resolver = Callable[[str, int], Awaitable[list[str]]]
USER_AGENT = "Vigie-Webhooks/1.0"
MAX_URL_CHARS = 2000


class UnsafeUrl(ValueError):
    """The URL may not receive deliveries (the message, in French, says why)."""


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status: int | None
    error: str | None
    duration_ms: int


def check_url_syntax(url: str, *, production: bool) -> tuple[str, int]:
    """The URL's host and port; UnsafeUrl when it may never be used."""
    if len(url) > MAX_URL_CHARS:
        raise UnsafeUrl(f"L'adresse dépasse {MAX_URL_CHARS} caractères.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("Adresse illisible.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("Adresse http(s) complète attendue (https://erp.exemple.fr/vigie).")
    if production and parts.scheme != "https":
        raise UnsafeUrl("En production, l'adresse d'un webhook doit être en https.")
    if parts.username or parts.password:
        raise UnsafeUrl("L'adresse ne peut pas contenir d'identifiants.")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def check_url(url: str, *, production: bool, resolver: Resolver = resolve) -> None:
    """UnsafeUrl unless the URL may receive a delivery now (production: https, public only)."""
    host, port = check_url_syntax(url, production=production)
    if not production:
        return
    try:
        addresses = await resolver(host, port)
    except OSError:
        raise UnsafeUrl(f"Le nom « {host} » ne se résout pas.") from None
    if not addresses or any(forbidden_address(a) for a in addresses):
        raise UnsafeUrl(
            f"« {host} » désigne une adresse privée, locale ou réservée : refusée en production."
        )


def sign(secrets: list[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, space-separated."""
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets)


class WebhookSender:
    """One per process (built by app/runtime.py), closed with it."""

    def __init__(
        self,
        *,
        production: bool,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self.production = production
        self.resolver = resolver
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    async def check(self, url: str) -> None:
        await check_url(url, production=self.production, resolver=self.resolver)

    async def send(
        self, url: str, *, msg_id: str, timestamp: datetime, body: str, secrets: list[str]
    ) -> SendResult:
        """POST one signed message; a 2xx is a delivery, anything else a failure to retry."""
        started = time.monotonic()

        def result(ok: bool, status: int | None, error: str | None) -> SendResult:
            return SendResult(ok, status, error, int((time.monotonic() - started) * 1000))

        try:
            await self.check(url)
        except UnsafeUrl as exc:
            return result(False, None, f"unsafe_url: {exc}")
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": sign(secrets, msg_id, timestamp, body),
        }
        try:
            response = await self.http.post(url, content=body.encode(), headers=headers)
        except httpx.TimeoutException:
            return result(False, None, "timeout")
        except httpx.HTTPError as exc:
            return result(False, None, f"connection: {type(exc).__name__}")
        if 200 <= response.status_code < 300:
            return result(True, response.status_code, None)
        return result(False, response.status_code, f"http_{response.status_code}")

    async def aclose(self) -> None:
        await self.http.aclose()
