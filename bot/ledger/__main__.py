"""Developer entry point for the ledger's migrations (no alembic.ini needed).

    python -m bot.ledger revision -m "add a column"   # autogenerate from the models
    python -m bot.ledger upgrade [REVISION]            # default: head

The database is `--url`, else MIRROR_DATABASE_URL (the bot's settings). Autogenerate against
PostgreSQL (`scripts/postgres.sh start` prints a URL) to get plain, not batch-mode, operations.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alembic import command

from bot.ledger.db import alembic_config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.ledger")
    parser.add_argument("--url", default=None, help="database URL (default: MIRROR_DATABASE_URL)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    rev = sub.add_parser("revision", help="autogenerate a new migration from the models")
    rev.add_argument("-m", "--message", required=True)
    up = sub.add_parser("upgrade", help="upgrade the database")
    up.add_argument("revision", nargs="?", default="head")
    args = parser.parse_args(argv)
    url: str | None = args.url
    if url is None:
        from bot.config import load_settings

        url = load_settings().db_url
    config = alembic_config(url)
    # New revision files come out lint-clean (python -m ruff: no PATH assumption).
    config.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
    for hook, options in (("ruff_fix", "check --fix --quiet"), ("ruff_format", "format --quiet")):
        for key, value in (
            ("type", "module"),
            ("module", "ruff"),
            ("options", f"{options} REVISION_SCRIPT_FILENAME"),
        ):
            config.set_section_option("post_write_hooks", f"{hook}.{key}", value)
    if args.cmd == "revision":
        command.revision(config, message=args.message, autogenerate=True)
    else:
        command.upgrade(config, args.revision)
    return 0


if __name__ == "__main__":
    sys.exit(main())
