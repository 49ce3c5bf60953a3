"""The `mirrorbot` app: every command in the order `mirrorbot --help` lists them, and the module of
bot/cli/ that holds it. Each command is a thin view over a service call (or starts a runner)."""

from __future__ import annotations

from collections.abc import Callable

import typer

from bot.cli.accounts import account_app, keystore_app
from bot.cli.analytics import backtest, inspect
from bot.cli.audit import audit_app
from bot.cli.bench import BENCH_CONTEXT, bench
from bot.cli.cluster import cluster_app, copy, watch
from bot.cli.cluster import control as control_role
from bot.cli.commission import builder_app, commission_app
from bot.cli.config import config
from bot.cli.control import alerts, history, limits, owner, pause, pnl, resume, stop, telegram
from bot.cli.follows import follow_app
from bot.cli.localnet import demo, localnet
from bot.cli.paper import paper
from bot.cli.rank import rank
from bot.cli.reads import positions, status, why
from bot.cli.run import run
from bot.cli.simulate import simulate

app = typer.Typer(
    name="mirrorbot",
    help="Mirror perp-DEX wallets into follower accounts (Hyperliquid, GMX v2).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Every command, in the order `mirrorbot --help` lists them (typer lists the groups after them).
COMMANDS: tuple[Callable[..., None], ...] = (
    *(config, localnet, simulate, demo, run, paper),  # config, localnet, simulate, run, paper.py
    *(status, positions, why),  # reads.py
    *(inspect, backtest),  # analytics.py
    rank,  # rank.py
    *(pause, resume, stop, limits, alerts, pnl, history, owner, telegram),  # control.py
)
# The distributed roles (cluster.py): `watch`, `copy`, `control`, and the `cluster` group below.
ROLES: tuple[tuple[str, Callable[..., None]], ...] = (
    ("watch", watch),
    ("copy", copy),
    ("control", control_role),
)
for command in COMMANDS:
    app.command()(command)
for role, command in ROLES:
    app.command(role)(command)
app.command(context_settings=BENCH_CONTEXT)(bench)  # bench.py: bench [NAME] [ARGS…]
app.add_typer(keystore_app, name="keystore")  # accounts.py
app.add_typer(account_app, name="account")  # accounts.py
app.add_typer(follow_app, name="follow")  # follows.py
app.add_typer(cluster_app, name="cluster")  # cluster.py
app.add_typer(audit_app, name="audit")  # audit.py
app.add_typer(builder_app, name="builder")  # commission.py
app.add_typer(commission_app, name="commission")  # commission.py


def main() -> None:
    app(prog_name="mirrorbot")
