"""A small Telegram Bot API stub on aiohttp, for end-to-end tests and benchmarks without Telegram.

Point aiogram at it with a custom API server::

    async with StubBotAPI() as stub:
        session = AiohttpSession(api=TelegramAPIServer.from_base(stub.base_url))
        bot = Bot(token="42:TEST", session=session)
        stub.push_message(chat_id=1001, user_id=1001, text="/start")
        ...  # run the Dispatcher, then look at stub.calls("sendMessage") or await stub.wait_for(...)

What aiogram sends: every method as an HTTP POST whose body is form data built by
`AiohttpSession.build_form_data` — application/x-www-form-urlencoded, or multipart/form-data
when a file is uploaded. String parameters are sent as they are; everything else (ints,
bools, lists, objects such as reply_markup) is JSON-encoded into the form field. The stub
decodes those values back (see `decode_form_value`), and also accepts JSON bodies and
query strings.

Behaviour follows the real Bot API where it is cheap to: message ids count per chat (users'
and the bot's messages share the sequence), getUpdates is long polling with offset
confirmation, HTML parse mode is checked (unsupported or unbalanced tags, bare "<") and its
visible text must be 1-4096 characters, editing to the same content answers "message is not
modified", getUpdates answers 409 while a webhook is set. Call the methods of this class from
the event loop's thread; it is not thread-safe.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from aiohttp.web_request import FileField

__all__ = ["Call", "Fault", "StubBotAPI", "UploadedFile", "decode_form_value"]

MAX_TEXT_LENGTH = 4096
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
# Parameters of string type in the Bot API: their form values are never JSON-decoded, so a
# text of "123" or "true" stays a string. Any other form value that parses as a JSON number,
# boolean, array or object is decoded (aiogram JSON-encodes every non-string value).
STRING_PARAMS = frozenset(
    {
        "action",
        "address",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "currency",
        "custom_emoji_id",
        "custom_title",
        "description",
        "document",
        "emoji",
        "explanation",
        "file_id",
        "first_name",
        "foursquare_id",
        "foursquare_type",
        "gift_id",
        "google_place_id",
        "google_place_type",
        "inline_message_id",
        "inline_query_id",
        "invite_link",
        "ip_address",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "next_offset",
        "parse_mode",
        "payload",
        "phone_number",
        "photo",
        "pre_checkout_query_id",
        "provider_token",
        "query",
        "question",
        "secret_token",
        "shipping_query_id",
        "short_description",
        "start_parameter",
        "sticker",
        "sticker_set_name",
        "switch_pm_parameter",
        "switch_pm_text",
        "text",
        "thumbnail",
        "title",
        "url",
        "vcard",
        "video",
        "video_note",
        "voice",
    }
)
# Telegram's HTML parse mode: https://core.telegram.org/bots/api#html-style
HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "blockquote",
        "code",
        "del",
        "em",
        "i",
        "ins",
        "pre",
        "s",
        "span",
        "strike",
        "strong",
        "tg-emoji",
        "tg-spoiler",
        "tg-time",
        "u",
    }
)
HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# getUpdates with allowed_updates=[] (or never set) delivers everything but these.
NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
UPDATE_FIELDS_NOT_TYPES = frozenset({"update_id"})
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})


@dataclass
class Call:
    """One request the stub received: the canonical method name (e.g. "sendMessage"), its decoded
    parameters, when it arrived (time.monotonic()), and what the stub answered."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    result: Any = None


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as it appears in Call.params."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Fault:
    """An injected error; see StubBotAPI.fail. `fired` counts the answers it produced."""

    method: str
    chat_ids: frozenset[int | str] | None
    status: int
    description: str
    retry_after: int | None
    times: int | None
    fired: int = 0

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method != "*" and self.method.lower() != method.lower():
            return False
        return self.chat_ids is None or params.get("chat_id") in self.chat_ids


@dataclass
class _TokenBucket:
    rate: float
    burst: float
    methods: frozenset[str] | None  # lower-case names; None: every method but getUpdates
    tokens: float
    last: float = field(default_factory=time.monotonic)

    def applies_to(self, method: str) -> bool:
        if self.methods is None:
            return method.lower() != "getupdates"
        return method.lower() in self.methods

    def take(self) -> int | None:
        """Take a token; None when allowed, else the whole seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - self.tokens) / self.rate))


class ApiError(Exception):
    """Raised by a method handler to answer with a Bot API error."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def decode_form_value(key: str, value: str) -> Any:
    """A form field's value as the sender meant it: JSON-encoded numbers, booleans, arrays and
    objects are decoded; string parameters (STRING_PARAMS) and anything else stay strings."""
    if key in STRING_PARAMS:
        return value
    try:
        decoded = json.loads(value, parse_constant=_reject_constant)
    except ValueError:
        return value
    if decoded is None or isinstance(decoded, str):
        return value
    return decoded


class _TelegramHTML(HTMLParser):
    """Checks text the way Telegram's HTML parse mode does (roughly) and collects the visible
    text. `error` holds the first problem found."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self.stack: list[str] = []
        self.error: str | None = None

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            self._fail(f'Unexpected end tag "{tag}"')
        elif self.stack[-1] != tag:
            self._fail(f'Unmatched end tag, expected "</{self.stack[-1]}>", found "</{tag}>"')
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self._fail('Unexpected "<": escape it as &lt;')
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        self.parts.append(HTML_ENTITIES.get(name, f"&{name};"))

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self.parts.append(chr(code))
        except (ValueError, OverflowError):
            self._fail(f'Invalid character reference "&#{name};"')

    def handle_comment(self, data: str) -> None:
        self._fail("Unsupported HTML comment")

    def handle_decl(self, decl: str) -> None:
        self._fail("Unsupported HTML declaration")

    def handle_pi(self, data: str) -> None:
        self._fail("Unsupported HTML processing instruction")

    def unknown_decl(self, data: str) -> None:
        self._fail("Unsupported HTML declaration")

    def close(self) -> None:
        super().close()
        if self.stack:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1]}"')


def visible_text(text: str, parse_mode: Any) -> str:
    """The text a user sees; raises ApiError when HTML parse mode rejects it."""
    if not isinstance(parse_mode, str) or parse_mode.upper() != "HTML":
        return text
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.error is not None:
        raise ApiError(400, f"Bad Request: can't parse entities: {parser.error}")
    return "".join(parser.parts)


def _as_int(value: Any, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid integer value {value!r}") from None


def _update_type(update: Mapping[str, Any]) -> str | None:
    return next((key for key in update if key not in UPDATE_FIELDS_NOT_TYPES), None)


Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class StubBotAPI:
    """A Bot API stub server on 127.0.0.1 (a free port unless `port` is given).

    admins: chat id → user ids that getChatMember reports as "administrator" of that chat;
    everyone else is "member" unless set_member_status says otherwise.
    poll_cap: the longest a getUpdates call waits, whatever `timeout` it asks for.
    token: when set, requests with another token answer 401 Unauthorized.
    """

    def __init__(
        self,
        *,
        bot_id: int = 42,
        username: str = "yibao_test_bot",
        first_name: str = "医保政策助手",
        admins: Mapping[int, Iterable[int]] | None = None,
        poll_cap: float = 1.0,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.bot_id = bot_id
        self.username = username
        self.first_name = first_name
        self.poll_cap = poll_cap
        self.token = token
        self.host = host
        self.port = port
        self.requests: list[Call] = []
        self.faults: list[Fault] = []
        self.webhook_url = ""
        self._members: dict[tuple[int, int], str] = {}
        for chat_id, user_ids in (admins or {}).items():
            for user_id in user_ids:
                self._members[(chat_id, user_id)] = "administrator"
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._allowed_updates: frozenset[str] | None = None
        self._new_update = asyncio.Event()
        self._closing = False
        self._message_ids: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._commands: dict[tuple[str, str], list[Any]] = {}
        self._bucket: _TokenBucket | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._handlers: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._return_true,
                "getChatMember": self._get_chat_member,
                "getChat": self._get_chat,
                "sendChatAction": self._return_true,
                "deleteMessage": self._delete_message,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        """Start listening; returns the base URL, e.g. "http://127.0.0.1:40123"."""
        if self._runner is not None:
            raise RuntimeError("StubBotAPI is already started")
        app = web.Application()
        app.router.add_get("/bot{token}/{method}", self._handle)
        app.router.add_post("/bot{token}/{method}", self._handle)
        # handler_cancellation: a getUpdates whose client went away stops waiting at once.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        port = runner.addresses[0][1]
        self._runner = runner
        self._closing = False
        self._base_url = f"http://{self.host}:{port}"
        return self._base_url

    async def stop(self) -> None:
        """Wake any waiting getUpdates (they answer []) and shut the server down."""
        if self._runner is None:
            return
        self._closing = True
        self._wake_pollers()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("StubBotAPI is not started")
        return self._base_url

    # ------------------------------------------------------------------ inspecting calls

    def calls(self, method: str) -> list[Call]:
        """Recorded calls of `method` (case-insensitive), in arrival order."""
        wanted = method.lower()
        return [call for call in self.requests if call.method.lower() == wanted]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline, asked for by name
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until at least `count` calls of `method` (matching `predicate`) were received;
        returns all of them. Raises TimeoutError with a summary of what arrived instead."""
        deadline = time.monotonic() + timeout
        while True:
            found = [call for call in self.calls(method) if predicate is None or predicate(call)]
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(self._summary(method, count, len(found), timeout))
            await asyncio.sleep(0.01)

    def _summary(self, method: str, count: int, found: int, timeout: float) -> str:
        counts = Counter(call.method for call in self.requests)
        received = ", ".join(f"{name}×{n}" for name, n in counts.items()) or "nothing"
        lines = [
            f"expected {count} {method} call(s), got {found} matching within {timeout}s; received: {received}"
        ]
        for call in self.calls(method)[-5:]:
            lines.append(f"  {call.method} [{call.status}] {call.params!r}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ configuration

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember reports: creator, administrator, member, left or kicked."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unsupported status {status!r}; one of {sorted(MEMBER_STATUSES)}")
        self._members[(chat_id, user_id)] = status

    def fail(
        self,
        method: str,
        *,
        chat_ids: Iterable[int | str] | None = None,
        status: int | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        times: int | None = None,
    ) -> Fault:
        """Answer calls of `method` ("*": any method) with an error instead of handling them.

        chat_ids: only calls whose chat_id is one of these (default: every call).
        status: HTTP status and error_code; default 429 when retry_after is given, else 500.
        description: default by status, e.g. 403 "Forbidden: bot was blocked by the user",
        400 "Bad Request: chat not found", 429 "Too Many Requests: retry after N".
        retry_after: sent as parameters.retry_after (a 429 without it gets retry_after=1).
        times: how many calls it answers before it stops firing (default: no limit).
        Faults are tried in the order they were added; the first that matches answers.
        """
        if status is None:
            status = 429 if retry_after is not None else 500
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        fault = Fault(
            method=method,
            chat_ids=None if chat_ids is None else frozenset(chat_ids),
            status=status,
            description=description,
            retry_after=retry_after,
            times=times,
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def rate_limit(
        self,
        per_second: float | None,
        *,
        burst: float | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Token bucket over all calls of `methods` (default: every method but getUpdates):
        `per_second` tokens a second, up to `burst` (default max(1, per_second)) at once; a call
        finding the bucket empty answers 429 with retry_after. None switches the limit off."""
        if per_second is None:
            self._bucket = None
            return
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        size = max(1.0, per_second) if burst is None else burst
        self._bucket = _TokenBucket(
            rate=per_second,
            burst=size,
            methods=None if methods is None else frozenset(m.lower() for m in methods),
            tokens=size,
        )

    # ------------------------------------------------------------------ feeding updates

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    def user(
        self,
        user_id: int,
        *,
        username: str | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """The User object for `user_id`, remembering any name given (also used by getChatMember)."""
        if user_id == self.bot_id:
            return self.bot_user
        known = self._users.get(user_id)
        result: dict[str, Any] = dict(known) if known else {"id": user_id, "is_bot": False}
        result["first_name"] = first_name or result.get("first_name") or f"User{user_id}"
        if username is not None:
            result["username"] = username
        if language_code is not None:
            result["language_code"] = language_code
        self._users[user_id] = result
        return dict(result)

    def chat(self, chat_id: int, *, chat_type: str | None = None, title: str | None = None) -> dict[str, Any]:
        """The Chat object for `chat_id`: private for positive ids, supergroup for negative ones,
        unless a type was given (here or to push_message) before."""
        known = self._chats.get(chat_id)
        if known is not None and chat_type is None and title is None:
            return dict(known)
        kind = chat_type or (known or {}).get("type") or ("private" if chat_id > 0 else "supergroup")
        result: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            person = self._users.get(chat_id) or {"first_name": f"User{chat_id}"}
            result["first_name"] = person["first_name"]
            if "username" in person:
                result["username"] = person["username"]
        else:
            result["title"] = title or (known or {}).get("title") or "医保测试群"
        self._chats[chat_id] = result
        return dict(result)

    def build_message(
        self,
        chat_id: int,
        user_id: int,
        text: str | None = None,
        *,
        chat_type: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_to_bot: bool = False,
        username: str | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A user's Message object with the next message_id of the chat (not queued: wrap it
        in push_update, e.g. {"edited_message": ...}). `extra` fields (sticker, photo, caption…)
        are added as they are."""
        sender = self.user(user_id, username=username, first_name=first_name, language_code=language_code)
        chat = self.chat(chat_id, chat_type=chat_type)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
        }
        if text is not None:
            message["text"] = text
            if entities is None and text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                entities = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            if entities:
                message["entities"] = entities
        if reply_to_bot:
            message["reply_to_message"] = self._last_bot_message(chat_id)
        message.update(extra)
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def push_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        chat_type: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_to_bot: bool = False,
        username: str | None = None,
        first_name: str = "测试用户",
        language_code: str | None = None,
    ) -> int:
        """Queue a text message from `user_id` in `chat_id`; returns its update_id. A text
        starting with "/" gets a bot_command entity; reply_to_bot makes it a reply to the bot's
        latest message in the chat."""
        message = self.build_message(
            chat_id,
            user_id,
            text,
            chat_type=chat_type,
            entities=entities,
            reply_to_bot=reply_to_bot,
            username=username,
            first_name=first_name,
            language_code=language_code,
        )
        return self.push_update({"message": message})

    def push_callback(
        self,
        chat_id: int,
        user_id: int,
        data: str,
        message_id: int,
        *,
        username: str | None = None,
        first_name: str = "测试用户",
    ) -> int:
        """Queue a callback query (a press on an inline button of the bot's message `message_id`);
        returns its update_id. The query's id is in the update: pending_updates[-1]."""
        message = self._messages.get((chat_id, message_id))
        if message is None or message.get("from", {}).get("id") != self.bot_id:
            # a message of the bot's the stub never saw: make one up so it can be edited
            message = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": self.chat(chat_id),
                "date": int(time.time()),
                "text": "…",
            }
            self._messages[(chat_id, message_id)] = message
            self._message_ids[chat_id] = max(self._message_ids.get(chat_id, 0), message_id)
        query = {
            "id": str(next(self._callback_ids)),
            "from": self.user(user_id, username=username, first_name=first_name),
            "message": dict(message),
            "chat_instance": str(abs(chat_id) * 7919 + 13),
            "data": data,
        }
        return self.push_update({"callback_query": query})

    def push_update(self, raw: dict[str, Any]) -> int:
        """Queue any update; an update_id is assigned unless `raw` has one. Returns it."""
        update = dict(raw)
        if "update_id" in update:
            update_id = int(update["update_id"])
            self._update_ids = itertools.count(max(update_id + 1, next(self._update_ids)))
        else:
            update_id = next(self._update_ids)
            update = {"update_id": update_id, **update}
        self._updates.append(update)
        self._wake_pollers()
        return update_id

    def _wake_pollers(self) -> None:
        event, self._new_update = self._new_update, asyncio.Event()
        event.set()

    def _next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _last_bot_message(self, chat_id: int) -> dict[str, Any]:
        for (chat, _), message in reversed(self._messages.items()):
            if chat == chat_id and message.get("from", {}).get("id") == self.bot_id:
                return dict(message)
        message = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": self.chat(chat_id),
            "date": int(time.time()),
            "text": "…",
        }
        self._messages[(chat_id, message["message_id"])] = message
        return dict(message)

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        method_name = request.match_info["method"]
        known = self._handlers.get(method_name.lower())
        call = Call(method=known[0] if known else method_name, params={}, at=time.monotonic())
        self.requests.append(call)
        try:
            call.params = await self._read_params(request)
            if self.token is not None and request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if known is None:
                raise ApiError(404, "Not Found: method not found")
            self._check_faults(call)
            call.result = await known[1](call.params)
        except ApiError as error:
            call.status = error.status
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.status,
                "description": error.description,
            }
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return web.json_response(body, status=error.status)
        return web.json_response({"ok": True, "result": call.result})

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {key: decode_form_value(key, value) for key, value in request.query.items()}
        if request.method != "POST" or not request.can_read_body:
            return params
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON body") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON body must be an object")
            params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, FileField):
                    params[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                elif isinstance(value, bytes | bytearray):
                    params[key] = decode_form_value(key, bytes(value).decode())
                else:
                    params[key] = decode_form_value(key, value)
        return params

    def _check_faults(self, call: Call) -> None:
        for fault in self.faults:
            if fault.matches(call.method, call.params):
                fault.fired += 1
                raise ApiError(fault.status, fault.description, fault.retry_after)
        if self._bucket is not None and self._bucket.applies_to(call.method):
            wait = self._bucket.take()
            if wait is not None:
                raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)

    # ------------------------------------------------------------------ methods

    async def _return_true(self, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(params.get("offset"), 0)
        limit = min(max(_as_int(params.get("limit"), 100), 1), 100)
        timeout = max(float(_as_int(params.get("timeout"), 0)), 0.0)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(timeout, self.poll_cap)
        while True:
            self._updates = [u for u in self._updates if self._deliverable(u)]
            remaining = deadline - loop.time()
            if self._updates or self._closing or remaining <= 0:
                break
            event = self._new_update
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                break
        return [dict(update) for update in self._updates[:limit]]

    def _deliverable(self, update: Mapping[str, Any]) -> bool:
        kind = _update_type(update)
        if self._allowed_updates is None:
            return kind not in NOT_DELIVERED_BY_DEFAULT
        return kind in self._allowed_updates

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise ApiError(400, "Bad Request: bad webhook: URL must be a string")
        self.webhook_url = url
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: Mapping[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, 'Bad Request: parameter "commands" can\'t be parsed')
        self._commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[Any]:
        return list(self._commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _chat_id(self, params: Mapping[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _message_text(self, params: Mapping[str, Any]) -> str:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        shown = visible_text(text, params.get("parse_mode"))
        if not shown.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(shown) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return shown

    @staticmethod
    def _inline_markup(params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Only inline keyboards are echoed in a sent Message (as Telegram does)."""
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            return markup
        return None

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        text = self._message_text(params)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": self.chat(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        if isinstance(params.get("entities"), list):
            message["entities"] = params["entities"]
        markup = self._inline_markup(params)
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return dict(message)

    def _bot_message(self, params: Mapping[str, Any], what: str) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        message_id = _as_int(params.get("message_id"), 0)
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, f"Bad Request: message to {what} not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise ApiError(400, f"Bad Request: message can't be {what}ed")
        return message

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            self._message_text(params)
            return True
        message = self._bot_message(params, "edit")
        text = self._message_text(params)
        markup = self._inline_markup(params)
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = text
        return self._edited(message, markup)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        message = self._bot_message(params, "edit")
        markup = self._inline_markup(params)
        if markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        return self._edited(message, markup)

    @staticmethod
    def _edited(message: dict[str, Any], markup: dict[str, Any] | None) -> dict[str, Any]:
        """Stamp an edit and set (or drop) the keyboard; returns the message as sent back."""
        message["edit_date"] = int(time.time())
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return dict(message)

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        message_id = _as_int(params.get("message_id"), 0)
        if self._messages.pop((chat_id, message_id), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.chat(self._chat_id(params)),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        user_id = params.get("user_id")
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise ApiError(400, "Bad Request: invalid user_id specified")
        status = self._members.get((chat_id, user_id), "member")
        member: dict[str, Any] = {"status": status, "user": self.user(user_id)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_send_welcome_messages": False,
                    "can_pin_messages": True,
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member
