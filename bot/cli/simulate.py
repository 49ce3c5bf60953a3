"""`mirrorbot simulate`: its options, their checks and its exit codes; the replay itself is
bot/simulate/ (the engine side, imported when the command runs)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

if TYPE_CHECKING:
    from bot.simulate import FillReplay

SIMULATE_USAGE = "use --scenario FILE, or --fills FILE --equity E --source-equity E"


class UsageError(ValueError):
    pass


def simulate(
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="Scenario JSON (SPEC section 7).")
    ] = None,
    fills: Annotated[
        Path | None, typer.Option("--fills", help="Recorded userFills history (venue JSON or YAML cassette).")
    ] = None,
    equity: Annotated[str | None, typer.Option("--equity", help="Follower equity (USD) for --fills.")] = None,
    source_equity: Annotated[
        str | None, typer.Option("--source-equity", help="Source equity (USD) for --fills.")
    ] = None,
) -> None:
    """Replay a scenario (or a recorded fill history) through the engine; one JSON line per decision."""
    code = main(scenario=scenario, fills=fills, equity=equity, source_equity=source_equity)
    raise typer.Exit(code)


def _decimal_option(value: str | None, flag: str) -> Decimal:
    from bot.service.errors import InvalidInput
    from bot.simulate import SCENARIO_RANGES

    if value is None:
        raise UsageError(f"{flag} is needed with --fills")
    try:
        return SCENARIO_RANGES["source_equity"].read(value, flag)
    except InvalidInput as exc:
        raise UsageError(str(exc)) from None


def _fills_run(fills: Path, equity: str | None, source_equity: str | None) -> FillReplay:
    from bot.fills_file import load_fills
    from bot.service.errors import InvalidInput
    from bot.simulate import FillReplay

    follower_equity = _decimal_option(equity, "--equity")
    source_eq = _decimal_option(source_equity, "--source-equity")
    try:
        history = load_fills(fills)
    except InvalidInput as exc:
        raise UsageError(str(exc)) from None
    return FillReplay.from_fills(history, equity=follower_equity, source_equity=source_eq)


def main(
    scenario: Path | None,
    fills: Path | None,
    equity: str | None,
    source_equity: str | None,
    out: TextIO | None = None,
) -> int:
    """Exit 0 on success, 2 on a bad scenario or bad options (message on stderr, nothing on stdout)."""
    from bot.simulate import ScenarioError, ScenarioRun, load_scenario, write_lines

    try:
        if (scenario is None) == (fills is None):
            raise UsageError(SIMULATE_USAGE)
        if scenario is not None:
            if equity is not None or source_equity is not None:
                raise UsageError(
                    "--equity and --source-equity go with --fills; a scenario sets its own equities"
                )
            try:
                parsed = load_scenario(scenario)
            except ScenarioError as exc:
                raise UsageError(f"{scenario}: {exc}") from None
            # everything is validated before the first step runs, so streaming never half-writes a run
            lines: Iterable[dict[str, object]] = ScenarioRun(parsed).run()
        else:
            assert fills is not None
            lines = _fills_run(fills, equity, source_equity).lines()
    except UsageError as exc:
        print(f"mirrorbot simulate: {exc}", file=sys.stderr)
        return 2
    write_lines(lines, out or sys.stdout)
    return 0
