"""A local fake of API Entreprise that behaves like the real one (see README.md).

The FastAPI app and its server load on first use only (PEP 562), so importing the profiles or
the token (the demo, the CLI) does not load the web framework.
"""

from typing import TYPE_CHECKING, Any

from app.integrations.sandbox.config import SANDBOX_TOKEN, SandboxConfig
from app.integrations.sandbox.profiles import DEMO_SIRENS, PROFILES_TABLE, profile_for

if TYPE_CHECKING:
    from app.integrations.sandbox.app import create_sandbox_app
    from app.integrations.sandbox.server import SandboxServer

__all__ = [
    "DEMO_SIRENS",
    "PROFILES_TABLE",
    "SANDBOX_TOKEN",
    "SandboxConfig",
    "SandboxServer",
    "create_sandbox_app",
    "profile_for",
]


def __getattr__(name: str) -> Any:
    if name == "create_sandbox_app":
        from app.integrations.sandbox.app import create_sandbox_app

        return create_sandbox_app
    if name == "SandboxServer":
        from app.integrations.sandbox.server import SandboxServer

        return SandboxServer
    raise AttributeError(name)
