"""A local fake of API Entreprise that behaves like the real one (see README.md)."""

from app.integrations.sandbox.app import create_sandbox_app
from app.integrations.sandbox.config import SANDBOX_TOKEN, SandboxConfig
from app.integrations.sandbox.profiles import DEMO_SIRENS, PROFILES_TABLE, profile_for
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
