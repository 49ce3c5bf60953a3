"""The `mirrorbot` command line (typer). Each command is a thin view over a service call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr

from bot.cli_analytics import register as register_analytics_commands
from bot.cli_bench import register as register_bench_commands
from bot.cli_control import register as register_control_commands
from bot.cli_service import register as register_service_commands
from bot.config import LOCALNET_DEFAULT_PORT, Settings, SettingsError, load_settings

app = typer.Typer(
    name="mirrorbot",
    help="Mirror perp-DEX wallets into follower accounts (Hyperliquid, GMX v2).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def settings_or_exit() -> Settings:
    """Load settings; a bad one stops here with a message naming the variable (exit 2)."""
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"mirrorbot: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def config() -> None:
    """Check the settings and print the effective values (secrets hidden)."""
    from bot.redaction import redact_text

    settings = settings_or_exit()
    for name, value in settings.model_dump().items():
        secret = ("token" in name or "password" in name) and value is not None
        # URLs keep their shape, without their password or API key (bot/redaction.py).
        typer.echo(f"MIRROR_{name.upper()}={'**********' if secret else redact_text(str(value))}")
    typer.echo(f"# venue URL: {redact_text(settings.api_url)}")
    typer.echo(f"# database:  {redact_text(settings.db_url)}")


@app.command()
def localnet(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = LOCALNET_DEFAULT_PORT,
    seed: Annotated[int, typer.Option(help="Seed for the price path and everything random.")] = 0,
    signatures: Annotated[
        str, typer.Option(help="Accepted signature domains: 'testnet' (default) or 'any' (mainnet too).")
    ] = "testnet",
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Serve clients that are not on loopback.")
    ] = False,
) -> None:
    """Run the Hyperliquid-compatible local venue (POST /info, POST /exchange, GET /ws, POST /_localnet)."""
    from adapters.localnet.server import serve

    if signatures not in ("testnet", "any"):
        typer.echo("mirrorbot: --signatures: accepted values are testnet, any", err=True)
        raise typer.Exit(2)
    serve(host=host, port=port, seed=seed, signatures=signatures, allow_remote=allow_remote)


@app.command()
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
    from bot.simulate import main as simulate_main

    code = simulate_main(scenario=scenario, fills=fills, equity=equity, source_equity=source_equity)
    raise typer.Exit(code)


@app.command()
def demo(
    duration: Annotated[float, typer.Option(help="Seconds to run.")] = 20.0,
    followers: Annotated[int, typer.Option(help="Number of follower accounts.")] = 3,
    summary_json: Annotated[
        Path | None, typer.Option("--summary-json", help="Write the summary here.")
    ] = None,
    port: Annotated[int, typer.Option(help="Localnet port (0 = any free port).")] = 0,
) -> None:
    """Start the embedded localnet and run the demo on it."""
    from bot.demo import run_demo

    raise typer.Exit(run_demo(duration=duration, followers=followers, summary_json=summary_json, port=port))


@app.command()
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Start, apply the follows, one reconciliation pass, then stop.")
    ] = False,
    duration: Annotated[
        float | None, typer.Option(help="Stop cleanly after this many seconds (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Run the copy pipeline: watch the sources and mirror them into the followers.

    SIGINT/SIGTERM stop it cleanly; with MIRROR_TELEGRAM_TOKEN set the Telegram control room runs too."""
    import sys

    from bot.pipeline.runner import main as run_main
    from bot.telegram.beside import beside_runner

    settings = settings_or_exit()
    if settings.keystore_password is None and sys.stdin.isatty():
        password = typer.prompt("Keystore password", hide_input=True, default="", show_default=False)
        if password:
            settings = settings.model_copy(update={"keystore_password": SecretStr(password)})
    raise typer.Exit(run_main(settings, once=once, duration_s=duration, companions=[beside_runner()]))


@app.command()
def paper(
    follower: Annotated[
        list[str] | None,
        typer.Option("--follower", help="Register a paper follower, ADDRESS[=USD start equity] (repeatable)"),
    ] = None,
    equity: Annotated[str, typer.Option(help="Start equity (USD) of paper followers given none.")] = "10000",
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Paper database (default: MIRROR_DATA_DIR/paper.db).")
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="Paper accounts' state file (default: MIRROR_DATA_DIR/paper.json).")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Start, apply the follows, one reconciliation pass, then stop.")
    ] = False,
    duration: Annotated[
        float | None, typer.Option(help="Stop cleanly after this many seconds (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Run the copy pipeline on paper: sources live, follower orders filled at the live mids.

    No keys needed; a database of its own."""
    from bot.paper_run import main as paper_main

    raise typer.Exit(
        paper_main(
            settings_or_exit(),
            database_url=database_url,
            state=state,
            equity=equity,
            followers=follower or [],
            once=once,
            duration_s=duration,
        )
    )


register_service_commands(app, settings_or_exit)  # keystore, account, follow, status, positions, why
register_analytics_commands(app, settings_or_exit)  # inspect, backtest
register_control_commands(app, settings_or_exit)  # pause resume stop limits alerts pnl history owner telegram
register_bench_commands(app)  # bench [signing|latency|fanout|capacity]


def main() -> None:
    app(prog_name="mirrorbot")


if __name__ == "__main__":
    main()
