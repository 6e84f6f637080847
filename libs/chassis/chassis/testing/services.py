"""Run chassis service containers inside the test process, and reach their HTTP endpoints."""
from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from chassis.container import ServiceContainer


def http_port(container: ServiceContainer) -> int:
    from nameko.web.server import WebServer

    for extension in container.extensions:
        if isinstance(extension, WebServer) and getattr(extension, "_sock", None) is not None:
            port: int = extension._sock.getsockname()[1]
            return port
    raise LookupError(f"{container.service_name} has no web server")


def http_get(container: ServiceContainer, path: str, timeout: float = 10) -> tuple[int, str]:
    url = f"http://127.0.0.1:{http_port(container)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class ServicesUnderTest:
    def __init__(self, services: dict[type, dict[str, Any] | None], **common: Any) -> None:
        self.specs = services
        self.common = common
        self.containers: dict[str, ServiceContainer] = {}

    def __enter__(self) -> dict[str, ServiceContainer]:
        try:
            for service_cls, config in self.specs.items():
                merged = {"WEB_SERVER_ADDRESS": "127.0.0.1:0", **self.common, **(config or {})}
                container = ServiceContainer(service_cls, merged)
                container.start()
                self.containers[container.service_name] = container
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self.containers

    def __exit__(self, *exc: object) -> None:
        import eventlet

        for container in reversed(list(self.containers.values())):
            try:
                with eventlet.Timeout(10):  # nameko's stop waits for the broker; never hang a test run on it
                    container.stop()
            except BaseException:
                container.kill()
