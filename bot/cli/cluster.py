"""The distributed roles (docs/cluster.md): `mirrorbot watch`, `mirrorbot copy`, `mirrorbot control` and
`mirrorbot cluster status`. Each needs MIRROR_BUS_URL (redis://) beside a PostgreSQL MIRROR_DATABASE_URL."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bot.cli.common import settings_or_exit

cluster_app = typer.Typer(help="The distributed roles' cluster (docs/cluster.md).", no_args_is_help=True)

Name = Annotated[
    str | None,
    typer.Option(
        "--name", help="This process's name, unique among the live ones of its role (default: the host name)."
    ),
]
Heartbeat = Annotated[
    float,
    typer.Option("--heartbeat", min=0.2, max=60.0, help="Seconds between heartbeats; a lease lasts two."),
]
Duration = Annotated[
    float | None, typer.Option(help="Stop cleanly after this many seconds (default: until Ctrl-C).")
]
PollStaleness = Annotated[
    float,
    typer.Option(
        "--poll-staleness",
        min=0.0,
        max=3600.0,
        help="Also take the sources the weight budget polls every this many seconds, beyond the "
        "websocket users (0: websocket only). Ignored with MIRROR_HL_NODE_DATA: the node's firehose "
        "watches any number.",
    ),
]
WsUsers = Annotated[
    int,
    typer.Option("--ws-users", min=1, max=10_000, help="Websocket users this process's egress IP may use."),
]
Weight = Annotated[
    int,
    typer.Option(
        "--weight-per-min", min=1, max=1_000_000, help="REST weight per minute this process's IP may use."
    ),
]


def watch(
    name: Name = None,
    heartbeat: Heartbeat = 2.0,
    ws_users: WsUsers = 10,
    weight_per_min: Weight = 1200,
    poll_staleness: PollStaleness = 30.0,
    duration: Duration = None,
) -> None:
    """Watch a share of the followed sources and publish their changes on the bus (MIRROR_BUS_URL).

    With MIRROR_METRICS_PORT its ops port (/metrics, /healthz, /readyz: docs/operations.md)."""
    from bot.cluster.roles import default_name, watch_main
    from bot.ledger.ownership import Budget
    from bot.ops.roles import role_observer

    settings = settings_or_exit()
    budget = Budget(ws_users=ws_users, weight_per_min=weight_per_min)
    code = watch_main(
        settings,
        name=name or default_name(),
        heartbeat_s=heartbeat,
        budget=budget,
        poll_staleness_s=poll_staleness,
        duration_s=duration,
        observers=[role_observer(settings)],
    )
    raise typer.Exit(code)


def copy(
    name: Name = None,
    heartbeat: Heartbeat = 2.0,
    weight_per_min: Weight = 1200,
    duration: Duration = None,
) -> None:
    """Copy the bus's source changes into a share of the followers: decide, guard, sign, send, record.

    With MIRROR_METRICS_PORT its ops port (/metrics, /healthz, /readyz: docs/operations.md)."""
    from bot.cluster.roles import copy_main, default_name
    from bot.ledger.ownership import Budget
    from bot.ops.roles import role_observer

    settings = settings_or_exit()
    budget = Budget(weight_per_min=weight_per_min)
    code = copy_main(
        settings,
        name=name or default_name(),
        heartbeat_s=heartbeat,
        budget=budget,
        duration_s=duration,
        observers=[role_observer(settings)],
    )
    raise typer.Exit(code)


def control(name: Name = None, heartbeat: Heartbeat = 2.0, duration: Duration = None) -> None:
    """The Telegram control room (MIRROR_TELEGRAM_TOKEN) and the cluster's watch: unowned work is alerted.

    With MIRROR_METRICS_PORT its ops port (/metrics, /healthz, /readyz: docs/operations.md)."""
    from bot.alerts import AlertBus
    from bot.cluster.roles import control_main, default_name
    from bot.ledger import Ledger
    from bot.ops.roles import role_observer
    from bot.telegram.app import AppContext, start_telegram

    settings = settings_or_exit()

    async def start_room(ledger: Ledger, alerts: AlertBus) -> Any:
        token = settings.telegram_token
        if token is None or not token.get_secret_value():
            return None
        return await start_telegram(AppContext(settings, ledger=ledger, alerts=alerts))

    code = control_main(
        settings,
        name=name or default_name(),
        heartbeat_s=heartbeat,
        start_room=start_room,
        duration_s=duration,
        observers=[role_observer(settings)],
    )
    raise typer.Exit(code)


@cluster_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="The status as JSON.")] = False,
) -> None:
    """Processes, leases, budgets, the bus's lag and each source's staleness."""
    from bot.cluster.roles import status_main

    raise typer.Exit(status_main(settings_or_exit(), as_json=as_json))
