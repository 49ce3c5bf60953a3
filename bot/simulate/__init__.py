"""The engine side of `mirrorbot simulate`: a scenario (SPEC §7) or a recorded fill history replayed
through `strategies.engine` with no network and no clock; `docs/simulate.md` is the user guide.

- `scenario`: the scenario file, parsed and validated whole before anything runs.
- `scenario_run`: a parsed scenario run step by step.
- `fill_replay`: a recorded fill history replayed (also the backtest's and the fidelity bench's
  cross-check).
- `lines`: the output objects (one per decision) and the fill at the mid every replay uses.

The command itself (options, exit codes) is bot/cli/simulate.py.
"""

from bot.simulate.fill_replay import FillReplay, infer_markets
from bot.simulate.lines import SOURCE, decision_line, write_lines
from bot.simulate.scenario import (
    SCENARIO_RANGES,
    Scenario,
    ScenarioError,
    Step,
    load_scenario,
    parse_scenario,
)
from bot.simulate.scenario_run import ScenarioRun

__all__ = [
    "SCENARIO_RANGES",
    "SOURCE",
    "FillReplay",
    "Scenario",
    "ScenarioError",
    "ScenarioRun",
    "Step",
    "decision_line",
    "infer_markets",
    "load_scenario",
    "parse_scenario",
    "write_lines",
]
