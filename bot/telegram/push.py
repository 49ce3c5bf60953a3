"""Alerts pushed to their owners: the pipeline's AlertBus (fills copied, skips and deferrals with their
reasons, failures, out-of-sync, guard actions) and a daily summary (JobQueue). Each owner chooses per
kind: on, silent (sent without a notification) or off (`/alerts`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.alerts import Alert, AlertBus
from bot.service import Actor
from bot.service.owner import DAILY_SUMMARY
from bot.service.tenancy import owner_chat
from bot.telegram import alert_text, render
from bot.telegram.room import Context, Room
from bot.telegram.send import send_text

log = logging.getLogger(__name__)


class AlertPusher:
    def __init__(self, room: Room, bot: Bot, *, pnl_wait_s: float = alert_text.PNL_WAIT_S) -> None:
        self.room = room
        self.bot = bot
        self.pnl_wait_s = pnl_wait_s
        self.pushed = 0
        self._task: asyncio.Task[None] | None = None
        self._waiting: set[asyncio.Task[None]] = set()  # alerts waiting for their fills' realised PnL
        self._bus: AlertBus | None = None
        self._queue: asyncio.Queue[Alert] | None = None

    def start(self, bus: AlertBus) -> None:
        """Push the bus's alerts from now on, after those it published before this started (the runner
        starts first: its start-up's Copy Current fills and missed changes are in `recent`). Both are
        taken at once, so none is pushed twice or missed."""
        backlog = list(bus.recent)
        self._bus, self._queue = bus, bus.subscribe()
        self._task = asyncio.ensure_future(self._run(self._queue, backlog))

    async def stop(self) -> None:
        if self._bus is not None and self._queue is not None:
            self._bus.unsubscribe(self._queue)
        for task in [self._task, *self._waiting]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _run(self, queue: asyncio.Queue[Alert], backlog: list[Alert]) -> None:
        for alert in backlog:
            await self._dispatch(alert)
        while True:
            await self._dispatch(await queue.get())

    async def _dispatch(self, alert: Alert) -> None:
        """A reducing fill waits for its realised PnL on its own: the alerts after it never wait."""
        if not alert_text.reduces(alert):
            await self._deliver(alert)
            return
        task = asyncio.ensure_future(self._deliver(alert))
        self._waiting.add(task)
        task.add_done_callback(self._waiting.discard)

    async def _deliver(self, alert: Alert) -> None:
        try:
            await self.push(alert)
        except Exception:  # one alert that cannot be delivered never stops the others
            log.exception("pushing an alert failed")

    async def _targets(self, alert: Alert) -> list[tuple[int, str]]:
        """(chat, owner) to tell: the follower's owner; with no follower (a pipeline failure), the admins."""
        tenancy = self.room.tenancy
        if alert.follower is not None:
            owner = await tenancy.owner_of(alert.follower)
            chat = None if owner is None else owner_chat(owner)
            return [] if owner is None or chat is None else [(chat, owner)]
        return [(admin, f"telegram:{admin}") for admin in sorted(tenancy.admins)]

    async def push(self, alert: Alert) -> None:
        targets = await self._targets(alert)
        if not targets:
            return
        shown = alert_text.render(
            alert, await alert_text.facts(self.room.service.ledger, alert, self.pnl_wait_s)
        )
        for chat, owner in targets:
            await self.send(chat, owner, alert.kind.value, shown)

    async def send(self, chat: int, owner: str, kind: str, text: str) -> bool:
        """`text`: plain (escaped when sent) or `Html`."""
        mode = (await self.room.control.alert_modes(owner)).get(kind, "on")
        if mode == "off":
            return False
        try:
            await send_text(self.bot, chat, text, silent=mode == "silent")
        except TelegramError as exc:
            log.warning("alert to chat %s not delivered: %s", chat, exc)
            return False
        self.pushed += 1
        return True

    async def daily_summary(self) -> int:
        """Each owner's last 24 hours: P&L per coin, fills, and the accounts' states."""
        room, sent = self.room, 0
        actor = Actor.system("telegram.daily_summary")
        for owner in await room.tenancy.owners():
            chat = owner_chat(owner)
            followers = [a.address for a in await room.tenancy.accounts_of(owner)]
            if chat is None or not followers:
                continue
            pnl = await room.control.pnl(actor, followers, days=1)
            states = await room.control.states(followers)
            text = (
                "Daily summary\n"
                + render.pnl(pnl)
                + "\n"
                + "\n".join(f"{render.short(f)}: {s}" for f, s in states.items())
            )
            sent += await self.send(chat, owner, DAILY_SUMMARY, text)
        return sent


async def daily_summary_job(context: Context) -> None:
    pusher = context.bot_data.get("mirror_pusher")
    if isinstance(pusher, AlertPusher):
        await pusher.daily_summary()
