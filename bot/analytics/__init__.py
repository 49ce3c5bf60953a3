"""Source analytics and what-if backtests (issue 9): a source's record (`inspect_source`) and what
copying it would have done (`backtest_source`), for the CLI and Telegram. Pure computations
(`stats`, `roundtrips`, `curve`, `backtest`, `market`; position accounting is bot.domain.accounting,
shared with the paper venue) are apart from fetching (`fetch`) and presentation (`render`, `charts`).
Definitions: docs/analytics.md."""

from bot.analytics.service import (
    BacktestInputs,
    BacktestReport,
    InspectReport,
    backtest_inputs,
    backtest_source,
    inspect_source,
    load_history,
)

__all__ = [
    "BacktestInputs",
    "BacktestReport",
    "InspectReport",
    "backtest_inputs",
    "backtest_source",
    "inspect_source",
    "load_history",
]
