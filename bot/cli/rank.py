"""`mirrorbot rank`: candidate sources side by side (docs/analytics.md, "rank"), a thin view over
`bot.analytics.rank_report`. Exit codes and progress as `inspect` (bot/cli/analytics.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.analytics import ChartOpt, DaysOpt, JsonFlag, _check_chart, _flagged, _output, _run
from bot.cli.common import fail

if TYPE_CHECKING:
    from bot.analytics.fetch import Report
    from bot.analytics.rank_report import RankReport


def rank(
    addresses: Annotated[
        list[str], typer.Argument(help="The sources to compare: 2 to 10 wallets (0x + 40 hex).")
    ],
    days: DaysOpt = None,
    equity: Annotated[
        str | None, typer.Option("--equity", help="Follower equity E for copyability, USD (default 1000).")
    ] = None,
    as_json: JsonFlag = False,
    chart: ChartOpt = None,
    fills: Annotated[
        list[Path] | None,
        typer.Option("--fills", help="Offline: one recording per address, in the same order (repeat)."),
    ] = None,
    source_equity: Annotated[
        list[str] | None,
        typer.Option(
            "--source-equity",
            help="Each source's equity, USD, in the same order (repeat; online: the venue's).",
        ),
    ] = None,
) -> None:
    """Sources side by side: return, drawdowns, timing, costs, copyability and a weighted score
    (descriptive, not advice)."""
    from bot.analytics.rank_report import rank_inputs, rank_sources
    from bot.service.errors import InvalidInput

    _check_chart(chart)
    try:
        checked = rank_inputs(
            addresses, days=days, equity=equity, fills_files=fills, source_equities=source_equity
        )
    except InvalidInput as exc:
        raise fail(_flagged(exc), 2) from None

    async def call(api_url: str | None, bar: Report) -> RankReport:
        return await rank_sources(checked, api_url=api_url, report=bar)

    _output(_run(call, checked.fills_files[0] if checked.fills_files else None), as_json, chart)
