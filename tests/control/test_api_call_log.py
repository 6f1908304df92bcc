"""The API-call log in the control store: batched, thread-safe, never a secret."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, func, select

from allegro_resource.calllog import ApiCall
from control_store.api_call_log import ControlStoreCallLog, redact_secrets
from control_store.schema import api_calls

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJ1c2VyX25hbWUiOiIxMjMifQ.c2lnbmF0dXJl"


def test_calls_are_written_with_their_details(engine: Engine) -> None:
    with ControlStoreCallLog(engine) as log:
        log.record(
            ApiCall(
                method="GET",
                endpoint="/ads/clients/abc/statistics",
                status=200,
                duration_ms=42,
                customer_id="c_1",
                rows=17,
                trace_id="trace-1",
                attempt=2,
                run_id="run-9",
            )
        )
    with engine.connect() as conn:
        row = conn.execute(select(api_calls)).one()
    assert (row.method, row.endpoint, row.status, row.duration_ms) == (
        "GET",
        "/ads/clients/abc/statistics",
        200,
        42,
    )
    assert (row.customer_id, row.rows, row.trace_id, row.attempt, row.run_id) == (
        "c_1",
        17,
        "trace-1",
        2,
        "run-9",
    )
    assert row.ts.tzinfo is not None


def test_no_secret_reaches_the_table(engine: Engine) -> None:
    with ControlStoreCallLog(engine) as log:
        log.record(
            ApiCall(
                method="POST",
                endpoint="/auth/oauth/token?code=SECRETCODE&refresh_token=SECRETRT",
                status=400,
                duration_ms=5,
                error=f"refused Bearer {JWT} with refresh_token=SECRETRT2 and "
                f'{{"access_token": "SECRETAT"}}',
            )
        )
    with engine.connect() as conn:
        dump = repr(conn.execute(select(api_calls)).all())
    for secret in ("SECRETCODE", "SECRETRT", "SECRETRT2", "SECRETAT", JWT, "c2lnbmF0dXJl"):
        assert secret not in dump
    assert "/auth/oauth/token" in dump


def test_redaction_keeps_ordinary_messages_and_error_codes() -> None:
    text = 'Allegro answered 422 on /ads/clients/x/statistics: {"code": "VALIDATION_ERROR"}'
    assert redact_secrets(text) == text
    assert redact_secrets("POST grant_type=authorization_code&code=abc123") == (
        "POST grant_type=authorization_code&code=[redacted]"
    )


def test_redaction_keeps_the_brackets_around_a_blanked_secret() -> None:
    text = "refresh failed (invalid_grant: refresh_token=SECRETRT) [token: SECRETAT]"
    assert redact_secrets(text) == (
        "refresh failed (invalid_grant: refresh_token=[redacted]) [token: [redacted]]"
    )


def test_many_threads_record_concurrently_and_nothing_is_lost(engine: Engine) -> None:
    log = ControlStoreCallLog(engine, batch_size=25, flush_interval_seconds=0.05)

    def work(n: int) -> None:
        for i in range(50):
            log.record(ApiCall("GET", f"/me/{n}/{i}", 200, 1, customer_id=f"c_{n}"))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(api_calls)).scalar() == 400


def test_a_broken_store_never_breaks_the_caller(tmp_path: object) -> None:
    from control_store.database import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/no-schema.db")  # no api_calls table
    log = ControlStoreCallLog(engine)
    log.record(ApiCall("GET", "/me", 200, 1))
    assert log.flush() == 0
    log.close()
    engine.dispose()
