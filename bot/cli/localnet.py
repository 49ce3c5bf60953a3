"""`mirrorbot localnet` (the Hyperliquid-compatible local venue, served) and `mirrorbot demo` (the copy
pipeline on an embedded localnet)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.config import LOCALNET_DEFAULT_PORT


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
    node_data: Annotated[
        Path | None,
        typer.Option(
            "--node-data",
            help="Also write every fill as a Hyperliquid node does, under DIR/node_fills_by_block/hourly "
            "(what MIRROR_HL_NODE_DATA reads).",
        ),
    ] = None,
) -> None:
    """Run the Hyperliquid-compatible local venue (POST /info, POST /exchange, GET /ws, POST /_localnet)."""
    from bot.venues import serve_localnet

    if signatures not in ("testnet", "any"):
        typer.echo("mirrorbot: --signatures: accepted values are testnet, any", err=True)
        raise typer.Exit(2)
    serve_localnet(
        host=host, port=port, seed=seed, signatures=signatures, allow_remote=allow_remote, node_data=node_data
    )


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
