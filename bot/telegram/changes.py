"""How a change is carried out from a chat: a group vote when the group needs k > 1 approvals, a
confirm / cancel button (which expires) when it is dangerous, else at once. A token another source holds
and an update that drops tokens come back as questions (re-assign? close or keep?) with buttons."""

from __future__ import annotations

from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.service import Conflict, InvalidInput, ServiceError
from bot.service.approvals import ChangeRequest, PendingView, execute
from bot.telegram import render, text
from bot.telegram.choices import Choice
from bot.telegram.room import Ask, Pending
from bot.telegram.runner_link import copying_note

APPROVE = "ap:"
VERBS = {"follow.add": "Following", "follow.update": "Updated"}


def approval_keyboard(view: PendingView) -> InlineKeyboardMarkup | None:
    if view.status != "pending":
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Approve", callback_data=f"{APPROVE}{view.id}:y"),
                InlineKeyboardButton("Reject", callback_data=f"{APPROVE}{view.id}:n"),
            ]
        ]
    )


async def submit(ask: Ask, request: ChangeRequest, *, danger: str | None = None) -> None:
    room = ask.room
    if not ask.private:
        policy = await room.tenancy.policy(ask.chat_id)
        if policy is not None and policy.needs_approval:
            if danger:  # the group votes on what a private chat would ask to confirm, warning and all
                request = replace(request, summary=f"{request.summary}\n⚠ {danger}")
            view = await room.approvals.propose(ask.actor, ask.chat_id, ask.user_id, request)
            await ask.reply(
                text.join(
                    [
                        render.pending(view, room.name_of),
                        f"The group's admins approve or reject below ({policy.threshold} needed).",
                    ]
                ),
                approval_keyboard(view),
            )
            return
    if danger:
        await confirm(ask, f"{danger}\n{request.summary}", request)
        return
    await run(ask, request)


async def confirm(ask: Ask, question: str, request: ChangeRequest, label: str = "Confirm") -> None:
    choices: list[Choice[Pending]] = [Choice(label, request), Choice("Cancel", None)]
    markup = ask.room.choices.offer(ask.user_id, ask.chat_id, choices)
    ttl = int(ask.room.choices.ttl_s)
    await ask.reply(f"{question}\nConfirm within {ttl} seconds.", markup)


async def run(ask: Ask, request: ChangeRequest) -> None:
    """Execute now; turn the questions the service asks back (re-assign, close or keep) into buttons."""
    room = ask.room
    try:
        result = await execute(room.service, room.control, ask.actor, request)
    except Conflict as exc:
        if not exc.holders or request.action not in ("follow.add", "follow.update"):
            raise
        await confirm(
            ask,
            f"{exc}\nRe-assign those tokens to this source? "
            "The follower's positions in them are closed first.",
            request.with_args(reassign=True),
            "Re-assign",
        )
        return
    except InvalidInput as exc:
        if exc.field != "release" or request.action != "follow.update":
            raise
        choices: list[Choice[Pending]] = [
            Choice("Close them", request.with_args(release="close")),
            Choice("Keep them", request.with_args(release="keep")),
            Choice("Cancel", None),
        ]
        markup = room.choices.offer(ask.user_id, ask.chat_id, choices, columns=3)
        await ask.reply(f"{exc.args[0].split(': ', 1)[-1]}", markup)
        return
    text = render.outcome(result, VERBS.get(request.action, "Done"))
    if request.action.startswith("follow."):  # whether it is copied yet (issue #19)
        text += "\n" + await copying_note(room.runner, room.service.ledger, request.action)
    await ask.reply(text)


async def apply_approved(ask: Ask, change_id: int) -> str:
    """Apply a change the group approved; record and return what happened."""
    room = ask.room
    request = await room.approvals.request_of(change_id)
    try:
        result = await execute(room.service, room.control, ask.actor, request)
    except ServiceError as exc:
        await room.approvals.finish(ask.actor, change_id, False, f"not applied: {exc}")
        return f"Not applied: {exc}"
    text = render.outcome(result, VERBS.get(request.action, "Done"))
    await room.approvals.finish(ask.actor, change_id, True, text)
    return text
