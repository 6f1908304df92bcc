"""Serving freezes the objects made while starting (modules, compiled templates, settings):
full garbage collections, which hold the interpreter lock, no longer walk them."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from typing import Any

import requests

from authorize_app.server import start_in_thread


def hello(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_serving_leaves_the_objects_made_before_out_of_garbage_collections() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    server = start_in_thread(hello)
    try:
        assert gc.get_freeze_count() > 0
        assert requests.get(server.url, timeout=10).text == "hello"
    finally:
        server.stop()
        gc.unfreeze()
