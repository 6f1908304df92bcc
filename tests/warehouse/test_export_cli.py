"""``allegro-ads export``: bad arguments exit 2 with one line; a good call writes the file."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
import pytest

from allegro_ads.cli import main
from warehouse.stats_loader import Warehouse

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

FETCHED = datetime(2024, 3, 10, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--from", "2024-02-30", "--to", "2024-03-01"], "'2024-02-30' is not a date"),
        (["--from", "yesterday", "--to", "2024-03-01"], "'yesterday' is not a date"),
        (["--from", "2024-03-02", "--to", "2024-03-01"], "--from 2024-03-02 is after --to"),
        (["--from", "2024-03-01", "--to", "2024-03-01", "--format", "xlsx"], "invalid choice"),
        (["--from", "2024-03-01"], "required: --to"),
    ],
)
def test_export_cli_bad_arguments_exit_2_with_one_line(
    arguments: list[str], complaint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = ["--out", str(tmp_path / "x.csv")] if "--to" in arguments else []

    with pytest.raises(SystemExit) as exited:
        main(["export", *arguments, *out])

    error = capsys.readouterr().err
    assert exited.value.code == 2
    assert error.count("\n") == 1 and complaint in error


def test_export_cli_writes_the_file_and_prints_the_row_count(
    warehouse: Warehouse,
    warehouse_url: str,
    factory: StatFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start, end = date(2024, 3, 1), date(2024, 3, 3)
    for customer in ("cust-1", "cust-2"):
        table = factory.slice_table(customer, start, end, campaigns=2)
        warehouse.load_slice(customer, start, end, table, run_id="r", fetched_at=FETCHED)
    monkeypatch.setenv("ALLEGRO_ADS_WAREHOUSE_URL", warehouse_url)
    out = tmp_path / "export.parquet"

    code = main(["export", "--from", "2024-03-01", "--to", "2024-03-02", "--out", str(out)])

    assert code == 0
    assert capsys.readouterr().out == f"wrote 8 row(s) to {out} (parquet)\n"
    back = pq.read_table(out)
    assert set(back["customer_id"].to_pylist()) == {"cust-1", "cust-2"}
    assert (
        main(
            [
                "export",
                "--from",
                "2024-03-01",
                "--to",
                "2024-03-01",
                "--customer",
                "cust-2",
                "--out",
                str(tmp_path / "one.csv"),
            ]
        )
        == 0
    )
    assert "wrote 2 row(s)" in capsys.readouterr().out


def test_export_cli_reports_a_bad_output_path_in_one_line(
    duckdb_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_WAREHOUSE_URL", duckdb_url)

    code = main(["export", "--from", "2024-03-01", "--to", "2024-03-01", "--out", str(tmp_path)])

    error = capsys.readouterr().err
    assert code == 1
    assert error.count("\n") == 1 and "is a directory; give a file path" in error
