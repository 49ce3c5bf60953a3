"""Nobody can stall the control room (issue #14): strangers cost nothing, and one chat waiting in its
send throttle never delays another chat. These run with Telegram's real limits (1 message a second per
chat after a burst of 5, 30 a second overall), where handling updates one at a time made an admin's
/stop wait behind every refusal.

Timing is measured from the moment the fake Bot API handed the update to the bot (its getUpdates
answer) to the moment the answer reached it; every update of a flood is queued before that answer, so
the command under test is always the last of its batch, behind the whole flood."""

from __future__ import annotations

from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger
from bot.telegram import TelegramOptions
from bot.telegram.intake import DoorLimits
from bot.telegram.send import Limits
from tests.service.support import FAST_KDF
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.fakebot import Call
from tests.telegram.support import connect
from tests.waiting import wait_until

FLOOD = 500
STRANGERS = [70_000 + i for i in range(100)]  # 100 strangers, 5 messages each
MEMBER = 5151
ANSWER_WITHIN_S = 1.0  # the acceptance bound


# Telegram's published limits (bot.telegram.send.Limits) and the default strangers' budgets.
BOT_OPTIONS = TelegramOptions(poll_timeout_s=1, limits=Limits(), door=DoorLimits(), kdf_iterations=FAST_KDF)


def _answered_in(bot: Bot, chats: set[int], after: int) -> int:
    return sum(1 for c in bot.api.calls[after:] if c.method == "sendMessage" and c.chat_id in chats)


async def _refusals(ledger: Ledger) -> int:
    entries = await ledger.audit_entries(limit=5000)
    return sum(1 for e in entries if e.action == "telegram.refused")


async def test_a_flood_from_strangers_leaves_the_admins_stop_answered_within_a_second(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    await connect(bot, localnet, ADMIN, "flood")  # /stop then has an account to stop: it asks to confirm
    refused_before = await _refusals(ledger)
    mark = len(bot.api.calls)
    words = ["/start", "/status", "/stop", "/help follow", "hello"]
    for i in range(FLOOD):
        bot.api.push_message(STRANGERS[i % len(STRANGERS)], words[i // len(STRANGERS)])
    stop = bot.api.push_message(ADMIN, "/stop")

    answer = await bot.api.reply_to(ADMIN, "STOP", after=mark, wait_s=60)
    delivered = bot.api.delivered[(ADMIN, stop)]
    batch = next(b for b in bot.api.batches if (ADMIN, stop) in b)
    assert len(batch) == FLOOD + 1 and batch[-1] == (ADMIN, stop)  # /stop came behind the whole flood
    assert answer.at - delivered < ANSWER_WITHIN_S, f"/stop answered after {answer.at - delivered:.2f} s"

    # What the strangers cost: within the strangers' budget, whatever the size of the flood.
    doorman = bot.handle.room.doorman
    assert doorman is not None

    async def sorted_out() -> bool:
        return doorman.let_through + doorman.dropped >= FLOOD

    await wait_until(sorted_out, "the flood to be sorted")
    elapsed = answer.at - delivered
    budget = DoorLimits().overall_burst + int(DoorLimits().overall_per_s * (elapsed + 1)) + 1
    assert doorman.let_through <= budget and doorman.dropped >= FLOOD - budget
    assert _answered_in(bot, set(STRANGERS), mark) <= budget
    assert await _refusals(ledger) - refused_before <= budget


async def test_one_chats_send_throttle_never_delays_another_chat(bot: Bot) -> None:
    assert "can now use the bot" in await bot.ask(ADMIN, f"/invite {MEMBER}", "can now")
    mark = len(bot.api.calls)
    for _ in range(8):  # 5 answers go at once, then one a second: the 7th waits ~2 s in its throttle
        bot.api.push_message(MEMBER, "/start")
    pause = bot.api.push_message(ADMIN, "/pause")
    answer = await bot.api.reply_to(ADMIN, "", after=mark, wait_s=30)
    delivered = bot.api.delivered[(ADMIN, pause)]
    assert answer.at - delivered < ANSWER_WITHIN_S, f"/pause answered after {answer.at - delivered:.2f} s"

    def member_answers() -> list[Call]:
        return [c for c in bot.api.calls[mark:] if c.method == "sendMessage" and c.chat_id == MEMBER]

    async def seventh_sent() -> bool:
        return len(member_answers()) >= 7

    await wait_until(seventh_sent, "the member's 7th answer", within=30)
    # The member's chat really waited in its throttle, and the admin's answer did not wait behind it.
    assert bot.api.calls.index(answer) < bot.api.calls.index(member_answers()[6])
