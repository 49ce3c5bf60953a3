"""`/help` grouped, what to do first at the top (issue #19 item 7)."""

from __future__ import annotations

import re

import bot.telegram.app  # noqa: F401  (registers every command)
from bot.telegram.gate import COMMANDS, SECTIONS
from tests.telegram.conftest import ADMIN, Bot


async def test_help_starts_with_what_to_do_first_then_groups_every_command_once(bot: Bot) -> None:
    shown = await bot.ask(ADMIN, "/help", "Commands")
    lines = shown.splitlines()
    assert lines[0] == "Commands" and lines[1].startswith("Start here: 1. /connect")
    assert lines.index("Get started") < lines.index("What is copied") < lines.index("Stop and go")
    listed = re.findall(r"^/(\w+) — ", shown, flags=re.MULTILINE)
    assert sorted(listed) == sorted(COMMANDS)  # every command, once
    assert listed[:4] == [n for n in SECTIONS[0][1] if n in COMMANDS]
    assert "More" not in lines  # every command has its section
    assert len(shown) <= 4096  # one Telegram message: a longer overview is cut (summaries are one line)
    research = shown.split("Research a source\n")[1].split("\n\n")[0]
    assert "/rank — " in research
    call = bot.api.sent_to(ADMIN)[-1]
    assert {"type": "b", "offset": 0, "length": len("Commands")} in call.entities  # sections in bold
