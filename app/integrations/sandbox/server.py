"""Run the sandbox with uvicorn in a background thread (in-process mode, tests, benchmarks)."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from app.integrations.sandbox.app import create_sandbox_app
from app.integrations.sandbox.config import SandboxConfig


class SandboxServer:
    """`start()` serves the sandbox on `host:port` (port 0 = a free one) and returns its URL."""

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SandboxConfig()
        self.app = create_sandbox_app(self.config)
        self.host = host
        self.port = port
        self.base_url: str | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> str:
        if self.base_url is not None:
            return self.base_url
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        # Serving on a socket bound here avoids the race of "find a free port, then bind it".
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="sandbox"
        )
        self._thread.start()
        base_url = f"http://{self.host}:{self.port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{base_url}/__sandbox/stats", timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or not self._thread.is_alive():
                    self.stop()
                    raise RuntimeError("the API Entreprise sandbox did not start") from None
                time.sleep(0.02)
        self.base_url = base_url
        return base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        self.base_url = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
