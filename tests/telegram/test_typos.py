"""Issue #19 item 4: a mistyped or unknown source is not followed silently; unknown commands and plain
text in a private chat are answered; groups and strangers stay unanswered."""

from __future__ import annotations

from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger
from bot.telegram.render import short
from tests.service.support import fixed_key
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect

STRANGER = 4343
GROUP = -100777


def _flip_case(address: str) -> str:
    """The checksummed address with one letter's case wrong (a typo the EIP-55 checksum catches)."""
    at = next(i for i in range(len(address) - 1, 1, -1) if address[i].isalpha())
    return address[:at] + address[at].swapcase() + address[at + 1 :]


async def test_an_address_the_venue_does_not_know_asks_first_naming_it(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    master, _ = await connect(bot, localnet, ADMIN, "typo")
    nobody = fixed_key("never-funded").address.lower()  # valid, but the venue has never seen it
    text = await bot.ask(ADMIN, f"/follow {nobody} ETH 50", "Confirm within")
    assert short(nobody) in text and "venue" in text
    assert await ledger.current_plan(master.address.lower(), nobody) is None  # nothing until confirmed


async def test_a_checksum_typo_is_refused(bot: Bot, localnet: LocalnetThread) -> None:
    await connect(bot, localnet, ADMIN, "typo2")
    wrong = _flip_case(fixed_key("typo2-src").address)
    assert "checksum" in await bot.ask(ADMIN, f"/follow {wrong} ETH", "checksum")


async def test_unknown_commands_and_plain_text_get_a_hint_in_private_only(bot: Bot) -> None:
    assert "/help" in await bot.ask(ADMIN, "/folow 0x12", "Unknown command")
    hint = await bot.ask(ADMIN, "hello, copy that whale please", "/help")
    assert "command" in hint
    # In a group plain text is ignored: the next answer there is /help's own.
    mark = await bot.say(ADMIN, "gm everyone", chat=GROUP, chat_type="group")
    bot.api.push_message(ADMIN, "/help", chat_id=GROUP, chat_type="group")
    answer = await bot.api.reply_to(GROUP, "Commands", after=mark)
    assert [c for c in bot.api.sent_to(GROUP) if c is not answer] == []
    # A stranger's plain text costs nothing: no answer at all.
    mark = await bot.say(STRANGER, "hi")
    bot.api.push_message(STRANGER, "/start")
    first = await bot.api.reply_to(STRANGER, "", after=mark)
    assert "is private" in first.text and bot.api.sent_to(STRANGER) == [first]  # /start's answer only
