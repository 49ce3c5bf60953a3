"""`python -m bot.cli …`: the `mirrorbot` command."""

from bot.cli.app import main

main()
