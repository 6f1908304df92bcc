"""The transport's sessions read the environment's proxy settings once per origin, and still
honour them."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import requests.sessions
from requests.adapters import BaseAdapter

from allegro_resource.transport import EnvironmentOnceSession


class CannedAdapter(BaseAdapter):
    """Answers every request with an empty 200, remembering the proxies it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.proxies: list[dict[str, str]] = []

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        self.proxies.append(dict(kwargs.get("proxies") or {}))
        response = requests.Response()
        response.status_code = 200
        response._content = b""
        response.request = request
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def environment_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs requests looked up the environment's proxies for."""
    seen: list[str] = []
    lookup = requests.sessions.get_environ_proxies

    def counted(url: str, no_proxy: str | None = None) -> dict[str, str]:
        seen.append(url)
        return lookup(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counted)
    return seen


def _session() -> tuple[EnvironmentOnceSession, CannedAdapter]:
    session, adapter = EnvironmentOnceSession(), CannedAdapter()
    session.mount("http://", adapter)
    return session, adapter


def test_the_environment_is_read_once_per_origin(environment_reads: list[str]) -> None:
    session, _ = _session()
    for page in range(3):
        session.get(f"http://allegro.test/billing?page={page}")
    session.get("http://other.test/")
    assert environment_reads == ["http://allegro.test/billing?page=0", "http://other.test/"]


def test_a_proxy_set_in_the_environment_is_still_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session, adapter = _session()
    session.get("http://allegro.test/a")
    session.get("http://allegro.test/b")
    assert [p.get("http") for p in adapter.proxies] == ["http://proxy.test:3128"] * 2


def test_proxies_given_with_a_request_win(environment_reads: list[str]) -> None:
    session, adapter = _session()
    session.get("http://allegro.test/a", proxies={"http": "http://mine.test:8080"})
    assert adapter.proxies[-1]["http"] == "http://mine.test:8080"
