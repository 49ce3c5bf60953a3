"""`mirrorbot inspect` and `mirrorbot backtest`: thin views over `bot.analytics`' service calls.

Exit codes: 0 done, 1 the venue failed or refused (the message says why), 2 bad input (the message
names the field and what it accepts). Progress goes to stderr, and only to a terminal.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.cli.common import fail, key_values, settings_or_exit

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from bot.analytics import BacktestReport, InspectReport
    from bot.analytics.fetch import Report
    from bot.analytics.rank_report import RankReport
    from bot.service.errors import InvalidInput

T = TypeVar("T")

AddressArg = Annotated[str, typer.Argument(help="The source wallet (0x + 40 hex digits).")]
DaysOpt = Annotated[
    int | None,
    typer.Option("--days", help="Window: the last N days (online default 30; offline: the whole file)."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
FillsOpt = Annotated[
    Path | None,
    typer.Option("--fills", help="Offline: recorded fills (the venue's userFills JSON, or a YAML cassette)."),
]
ChartOpt = Annotated[Path | None, typer.Option("--chart", help="Also write a PNG chart here (FILE.png).")]


class _Bar:
    """A rich progress display on stderr: one bar per stage (`fills`, `books`, `replay`)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self.tasks:
            label = {"fills": "fetching fills (pages)", "books": "reading books", "replay": "replaying"}
            self.tasks[stage] = self.progress.add_task(label.get(stage, stage), total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


@contextmanager
def _progress() -> Iterator[_Bar]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        yield _Bar(progress)


# service field → the CLI's name for it, so a refusal names what the user typed
_FLAGS = {
    "days": "--days",
    "equity": "--equity",
    "source_equity": "--source-equity",
    "taker_fee": "--taker-fee",
    "delay_ms": "--delay-ms",
    "half_spread": "--half-spread",
    "depth": "--depth",
}


def _flagged(exc: InvalidInput) -> str:
    text = str(exc)
    flag = _FLAGS.get(exc.field)
    if flag is not None and text.startswith(exc.field):
        return flag + text[len(exc.field) :]
    if exc.field == "scaling.*":
        return "--scaling" + text[len(exc.field) :]
    if exc.field.startswith("scaling."):
        return f"--scale {exc.field.removeprefix('scaling.')}" + text[len(exc.field) :]
    return text


def _check_chart(chart: Path | None) -> None:
    if chart is not None and chart.suffix.lower() != ".png":
        raise fail(f"--chart: expected a file name ending in .png, got {str(chart)!r}", 2)


def _run(call: Callable[[str | None, Report], Coroutine[Any, Any, T]], fills: Path | None) -> T:
    """Run `call(api_url, progress)` (online: the configured venue); refusals become exit codes."""
    from bot.service.errors import InvalidInput, ServiceError, VenueUnreachable

    api_url = None if fills is not None else settings_or_exit().api_url
    try:
        with _progress() as bar:
            return asyncio.run(call(api_url, bar))
    except InvalidInput as exc:
        raise fail(_flagged(exc), 2) from None
    except VenueUnreachable as exc:
        raise fail(f"{exc} (MIRROR_NETWORK / MIRROR_HL_API_URL)", 1) from None
    except ServiceError as exc:
        raise fail(str(exc), 1) from None


def _output(report: InspectReport | BacktestReport | RankReport, as_json: bool, chart: Path | None) -> None:
    """Write the chart first (so a failure leaves nothing half-printed), then the report."""
    if chart is not None:
        try:
            chart.write_bytes(report.png())
        except OSError as exc:
            raise fail(f"--chart: cannot write {chart}: {exc.strerror or exc}", 2) from None
    typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False) if as_json else report.text())


def inspect(
    address: AddressArg,
    days: DaysOpt = None,
    as_json: JsonFlag = False,
    fills: FillsOpt = None,
    chart: ChartOpt = None,
) -> None:
    """A source's record: PnL, fees, funding, win rate, drawdown, leverage, holding time… (descriptive)."""
    from bot.analytics import inspect_source

    _check_chart(chart)

    async def call(api_url: str | None, bar: Report) -> InspectReport:
        return await inspect_source(address, days=days, fills_file=fills, api_url=api_url, report=bar)

    _output(_run(call, fills), as_json, chart)


def backtest(
    address: AddressArg,
    days: DaysOpt = None,
    equity: Annotated[str | None, typer.Option("--equity", help="Follower equity, USD (default 1000).")] = (
        None
    ),
    scaling: Annotated[
        str | None, typer.Option("--scaling", help="Scaling k for every token, percent (default 100).")
    ] = None,
    scale: Annotated[
        list[str] | None, typer.Option("--scale", help="Per-token scaling, COIN=PERCENT (repeatable).")
    ] = None,
    as_json: JsonFlag = False,
    chart: ChartOpt = None,
    fills: FillsOpt = None,
    source_equity: Annotated[
        str | None,
        typer.Option("--source-equity", help="Source equity, USD (needed with --fills; online: the venue's)"),
    ] = None,
    taker_fee: Annotated[
        str | None, typer.Option("--taker-fee", help="Taker fee rate (default 0.00045 = 0.045 %).")
    ] = None,
    delay_ms: Annotated[
        int | None, typer.Option("--delay-ms", help="Copy delay after the source's fill, ms (default 1000).")
    ] = None,
    half_spread: Annotated[
        str | None, typer.Option("--half-spread", help="Half the bid-ask spread, fraction (default 0.0001).")
    ] = None,
    depth: Annotated[
        str | None,
        typer.Option(
            "--depth",
            help="Book depth, USD per 1 % of price a side, or 'inf' (default: venue's books, else 250000)",
        ),
    ] = None,
    options: Annotated[
        list[str] | None,
        typer.Option("--set", help="A follow option of docs/simulate.md, KEY=VALUE (repeatable)."),
    ] = None,
) -> None:
    """What copying a source would have done: its history through the bot's engine, with costs."""
    from bot.analytics import backtest_inputs, backtest_source
    from bot.service.errors import InvalidInput

    _check_chart(chart)
    try:
        checked = backtest_inputs(
            equity=equity,
            source_equity=source_equity,
            scaling=scaling,
            scale=key_values(scale, "--scale"),
            options=key_values(options, "--set"),
            taker_fee=taker_fee,
            delay_ms=delay_ms,
            half_spread=half_spread,
            depth=depth,
        )
    except InvalidInput as exc:
        raise fail(_flagged(exc), 2) from None

    async def call(api_url: str | None, bar: Report) -> BacktestReport:
        return await backtest_source(
            address, checked, days=days, fills_file=fills, api_url=api_url, report=bar
        )

    _output(_run(call, fills), as_json, chart)
