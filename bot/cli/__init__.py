"""The `mirrorbot` command line (typer), one module per command group; `app.py` lists every command.

- `app`: the typer app and `main` (the console script `mirrorbot = bot.cli:main`).
- `common`: settings, one service call with its refusals as exit codes, printing, shared flags.
- `config`, `localnet` (+ `demo`), `simulate`, `run`, `paper`: start or check something.
- `accounts` (keystore, account), `follows` (follow), `reads` (status, positions, why): the service
  calls; `control` (pause … telegram): the control room's; `analytics` (inspect, backtest); `bench`;
  `audit` (export, verify: the tamper-evident audit file).
"""

from bot.cli.app import app, main

__all__ = ["app", "main"]
