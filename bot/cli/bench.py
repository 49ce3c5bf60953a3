"""`mirrorbot bench [NAME] [ARGS…]`: run the benchmarks in `bench/` (figures, not pass/fail timings)."""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer

BENCHES = ("signing", "latency", "fanout", "capacity", "fidelity", "allocation")
# A benchmark's own options follow its name and are passed to it untouched.
BENCH_CONTEXT: dict[str, Any] = {"allow_extra_args": True, "ignore_unknown_options": True}


def bench(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help=f"One of {', '.join(BENCHES)}; all when omitted.")
    ] = None,
) -> None:
    """Run a benchmark (its own options follow its name, e.g. `bench latency --trades 100`)."""
    if name is not None and name not in BENCHES:
        typer.echo(f"mirrorbot bench: NAME: accepted values are {', '.join(BENCHES)}", err=True)
        raise typer.Exit(2)
    failed = 0
    for each in (name,) if name is not None else BENCHES:
        typer.echo(f"== bench.{each}")
        module = importlib.import_module(f"bench.{each}")
        failed += 1 if module.main(list(ctx.args) if name is not None else []) else 0
    raise typer.Exit(1 if failed else 0)
