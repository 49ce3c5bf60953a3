"""A local fake of the Telegram Bot API (aiohttp on loopback) for the real python-telegram-bot.

It implements the methods the bot uses (getMe, getUpdates with long polling, sendMessage,
editMessageText, answerCallbackQuery, deleteMessage, sendPhoto, setMyCommands, deleteWebhook) with the
Bot API's answers and error texts where the bot depends on them ("message is not modified", 429 with
`retry_after`). A test pushes updates (messages, button presses) into the getUpdates queue and reads
what the bot sent from `calls` / `wait_for`.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aiohttp import web

BOT_ID = 777000111
BOT_USERNAME = "mirror_test_bot"


TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "span"}
TAG = re.compile(r"<(/?)([a-zA-Z-]+)((?:\s[^<>]*)?)>")
PLAIN = re.compile(r"[^<>&]+")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


class ParseError(ValueError):
    pass


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's parse_mode HTML, strictly: the plain text a person sees and its entities. A `<`, `>`
    or `&` that is not part of a supported tag or entity, an unsupported tag or an unbalanced one is
    refused as Telegram refuses it ("can't parse entities")."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int]] = []
    at = 0
    length = 0
    while at < len(text):
        char = text[at]
        if char == "<":
            tag = TAG.match(text, at)
            if tag is None:
                raise ParseError(f"can't parse entities: unexpected '<' at byte offset {at}")
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if name not in TAGS:
                raise ParseError(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {at}')
            if closing:
                if not stack or stack[-1][0] != name:
                    raise ParseError(f"can't parse entities: Unmatched end tag at byte offset {at}")
                opened, start = stack.pop()
                if length > start:
                    entities.append({"type": opened, "offset": start, "length": length - start})
            else:
                stack.append((name, length))
            at = tag.end()
        elif char == ">":
            raise ParseError(f"can't parse entities: unexpected '>' at byte offset {at}")
        elif char == "&":
            entity = ENTITY.match(text, at)
            if entity is None:
                raise ParseError(f"can't parse entities: unsupported entity at byte offset {at}")
            decoded = html.unescape(entity.group(0))
            out.append(decoded)
            length += len(decoded)
            at = entity.end()
        else:
            run = PLAIN.match(text, at)
            assert run is not None
            out.append(run.group(0))
            length += len(run.group(0))
            at = run.end()
    if stack:
        raise ParseError(f"can't parse entities: can't find end tag for start tag {stack[-1][0]}")
    return "".join(out), entities


def shown(params: dict[str, Any], key: str = "text") -> tuple[str, list[dict[str, Any]]]:
    """The text a person sees of a sent message (parsed when it is HTML) and its entities."""
    raw = str(params.get(key) or "")
    if params.get("parse_mode") == "HTML":
        return parse_html(raw)
    return raw, []


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return None if value is None else int(value)

    @cached_property
    def text(self) -> str:
        """What the person reads (HTML parsed, as Telegram shows it); parsed once (tests poll it)."""
        key = "text" if self.params.get("text") else "caption"
        try:
            return shown(self.params, key)[0]
        except ParseError:
            return str(self.params.get(key) or "")

    @cached_property
    def entities(self) -> list[dict[str, Any]]:
        return shown(self.params)[1]

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of every inline button, row by row."""
        markup = self.params.get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row
        ]


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    text: str
    markup: Any = None


def _parse(value: str) -> Any:
    """PTB sends strings raw and everything else JSON-encoded."""
    try:
        return json.loads(value)
    except ValueError:
        return value


class FakeBotApi:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.deleted: set[tuple[int, int]] = set()
        self.retry_after: dict[str, int] = {}  # method -> times to answer 429 before serving it
        self.delivered: dict[tuple[int, int], float] = {}  # (chat, message id) -> when getUpdates gave it
        self.batches: list[list[tuple[int, int]]] = []  # the messages of each getUpdates answer
        self._updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._callback_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()  # wakes the long polls still waiting, so closing never waits for them
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.names: dict[int, tuple[str, str | None]] = {}  # user id -> (first name, username)

    # ---- life cycle -----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/bot"
        return self.url

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- what a test does -----------------------------------------------------------------------

    def _user(self, user_id: int) -> dict[str, Any]:
        first, username = self.names.get(user_id, (f"user{user_id}", None))
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first}
        if username:
            user["username"] = username
        return user

    def _chat(self, chat_id: int, chat_type: str) -> dict[str, Any]:
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}
        return {"id": chat_id, "type": chat_type, "title": f"group{chat_id}"}

    def push_message(
        self, user_id: int, text: str, *, chat_id: int | None = None, chat_type: str = "private"
    ) -> int:
        """A user writes `text` (a command when it starts with /). Returns the message id."""
        chat = user_id if chat_id is None else chat_id
        message_id = next(self._message_ids)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat, chat_type),
            "from": self._user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        self.messages[(chat, message_id)] = StoredMessage(chat, message_id, text)
        self._updates.put_nowait({"update_id": next(self._update_ids), "message": message})
        return message_id

    def push_callback(self, user_id: int, call: Call, data: str, *, chat_type: str = "private") -> str:
        """A user presses the inline button with `data` under the message the bot sent in `call`."""
        result = call.params["_result"]
        callback_id = str(next(self._callback_ids))
        self._updates.put_nowait(
            {
                "update_id": next(self._update_ids),
                "callback_query": {
                    "id": callback_id,
                    "from": self._user(user_id),
                    "chat_instance": "fake",
                    "data": data,
                    "message": {
                        "message_id": result["message_id"],
                        "date": result["date"],
                        "chat": self._chat(result["chat"]["id"], chat_type),
                        "from": self._bot(),
                        "text": result.get("text", ""),
                    },
                },
            }
        )
        return callback_id

    async def wait_for(
        self, predicate: Callable[[Call], bool], wait_s: float = 10.0, *, after: int = 0
    ) -> Call:
        """The first call (from index `after`) that satisfies `predicate`, waiting for it if needed."""

        def found() -> Call | None:
            return next((c for c in self.calls[after:] if predicate(c)), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), wait_s)
        result = found()
        assert result is not None
        return result

    async def reply_to(self, chat_id: int, contains: str, *, after: int, wait_s: float = 10.0) -> Call:
        return await self.wait_for(
            lambda c: (
                c.method in ("sendMessage", "editMessageText", "sendPhoto")
                and c.chat_id == chat_id
                and contains in c.text
            ),
            wait_s,
            after=after,
        )

    def sent_to(self, chat_id: int) -> list[Call]:
        return [c for c in self.calls if c.method in ("sendMessage", "sendPhoto") and c.chat_id == chat_id]

    # ---- the API --------------------------------------------------------------------------------

    def _bot(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Mirror", "username": BOT_USERNAME}

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            params[key] = (
                _parse(value) if isinstance(value, str) else {"file": getattr(value, "filename", "")}
            )
            if key == "photo" and not isinstance(value, str):
                params["photo_bytes"] = value.file.read()  # type: ignore[union-attr]
        if self.retry_after.get(method, 0) > 0:
            self.retry_after[method] -= 1
            await self._record(Call(f"{method}:429", params))
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                status=429,
            )
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status=404
            )
        answer: dict[str, Any] = await handler(params)
        if method != "getUpdates":
            if answer.get("ok"):
                params["_result"] = answer["result"]
            await self._record(Call(method, params))
        status = 200 if answer.get("ok") else int(answer.get("error_code", 400))
        return web.json_response(answer, status=status)

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    @staticmethod
    def _ok(result: Any) -> dict[str, Any]:
        return {"ok": True, "result": result}

    @staticmethod
    def _bad(description: str) -> dict[str, Any]:
        return {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}

    async def _m_getMe(self, _: dict[str, Any]) -> dict[str, Any]:
        return self._ok({**self._bot(), "can_join_groups": True, "can_read_all_group_messages": False})

    async def _m_deleteWebhook(self, _: dict[str, Any]) -> dict[str, Any]:
        return self._ok(True)

    async def _m_setMyCommands(self, _: dict[str, Any]) -> dict[str, Any]:
        return self._ok(True)

    async def _m_getUpdates(self, params: dict[str, Any]) -> dict[str, Any]:
        timeout = min(float(params.get("timeout") or 0), 2.0)
        updates: list[dict[str, Any]] = []
        try:
            updates.append(await self._next_update(timeout) if timeout else self._updates.get_nowait())
        except (TimeoutError, asyncio.QueueEmpty):
            return self._ok([])
        while not self._updates.empty():
            updates.append(self._updates.get_nowait())
        now = time.monotonic()
        batch = [(u["message"]["chat"]["id"], u["message"]["message_id"]) for u in updates if "message" in u]
        self.batches.append(batch)
        self.delivered.update(dict.fromkeys(batch, now))
        return self._ok(updates)

    async def _next_update(self, wait_s: float) -> dict[str, Any]:
        """The next update within `wait_s`, as Telegram's long poll; TimeoutError when none came or the
        server is closing (an aiohttp clean-up would otherwise wait for this poll to time out)."""
        got = asyncio.ensure_future(self._updates.get())
        closing = asyncio.ensure_future(self._closing.wait())
        done, _ = await asyncio.wait({got, closing}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        closing.cancel()
        if got in done:
            return got.result()
        got.cancel()  # not done: nothing was taken from the queue
        raise TimeoutError

    def _message(self, chat_id: int, text: str, markup: Any) -> dict[str, Any]:
        message_id = next(self._message_ids)
        self.messages[(chat_id, message_id)] = StoredMessage(chat_id, message_id, text, markup)
        chat = self._chat(chat_id, "private" if chat_id > 0 else "supergroup")
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": self._bot(),
            "text": text,
        }
        if markup and "inline_keyboard" in markup:  # as Telegram: a sent Message shows inline keyboards only
            message["reply_markup"] = markup
        return message

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            text = shown(params)[0]
        except ParseError as exc:
            return self._bad(str(exc))
        if not text.strip():
            return self._bad("message text is empty")
        if len(text) > 4096:
            return self._bad("message is too long")
        return self._ok(self._message(int(params["chat_id"]), text, params.get("reply_markup")))

    async def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(int(params["chat_id"]), "", params.get("reply_markup"))
        message.pop("text")
        message["photo"] = [{"file_id": "p1", "file_unique_id": "u1", "width": 800, "height": 500}]
        if params.get("caption"):
            message["caption"] = params["caption"]
        return self._ok(message)

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        stored = self.messages.get(key)
        if stored is None or key in self.deleted:
            return self._bad("message to edit not found")
        try:
            text = shown(params)[0]
        except ParseError as exc:
            return self._bad(str(exc))
        markup = params.get("reply_markup")
        if len(text) > 4096:
            return self._bad("message is too long")
        if text == stored.text and markup == stored.markup:
            return self._bad(
                "message is not modified: specified new message content and reply markup are exactly the "
                "same as a current content and reply markup of the message"
            )
        stored.text, stored.markup = text, markup
        message = self._message(key[0], text, markup)
        self.messages.pop((key[0], message["message_id"]))
        message["message_id"] = key[1]
        message["edit_date"] = int(time.time())
        return self._ok(message)

    async def _m_answerCallbackQuery(self, _: dict[str, Any]) -> dict[str, Any]:
        return self._ok(True)

    async def _m_deleteMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages or key in self.deleted:
            return self._bad("message to delete not found")
        self.deleted.add(key)
        return self._ok(True)
