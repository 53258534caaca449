"""Who may open the console: one-time login links sent by the bot, then a session cookie.

An admin sends /console to the bot and gets a link ``…/console/login?t=<token>``. The token is
``<user id>.<expiry>.<nonce>.<signature>``: HMAC-SHA256 over the rest with the console secret,
so a forged or altered link is refused without a look-up; it expires after LOGIN_TTL; and it
works once — its nonce is kept in the state store until it is redeemed (read-and-delete). Opening
it starts a session: a random id in an HttpOnly, SameSite=Strict cookie (Secure over https),
kept in the store for SESSION_TTL under the id's hash, with its own CSRF token. Every request
checks that the session's user is still one of ADMIN_IDS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.settings import Settings
from bot.state import StateStore

LOGIN_TTL = 10 * 60
SESSION_TTL = 12 * 60 * 60
COOKIE = "yb_console"


@dataclass(frozen=True, slots=True)
class Session:
    user_id: int
    csrf: str
    started: float


def console_secret(settings: Settings) -> bytes:
    """CONSOLE_SECRET; else one derived from the bot token (the same on every replica); else a
    random one for this process (the local console chat: one process, links die with it)."""
    if settings.console_secret is not None:
        return settings.console_secret.get_secret_value().encode()
    if settings.bot_token is not None:
        token = settings.bot_token.get_secret_value().encode()
        return hmac.new(token, b"yibao-bot console links", hashlib.sha256).digest()
    return secrets.token_bytes(32)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class ConsoleAuth:
    def __init__(
        self,
        store: StateStore,
        secret: bytes,
        base_url: str,
        admin_ids: frozenset[int],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.admin_ids = admin_ids
        self._clock = clock

    @property
    def secure(self) -> bool:
        """Cookies only over https when the console is served over https."""
        return self.base_url.startswith("https://")

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    # -- login links ------------------------------------------------------------------------
    async def login_link(self, user_id: int) -> str:
        nonce = secrets.token_urlsafe(18)
        payload = f"{user_id}.{int(self._clock()) + LOGIN_TTL}.{nonce}"
        await self.store.set_ephemeral(f"console:login:{nonce}", {"uid": user_id}, LOGIN_TTL)
        return f"{self.base_url}/console/login?t={payload}.{self._sign(payload)}"

    async def redeem(self, token: str) -> tuple[int | None, str]:
        """(user id, "") for a valid link, used up now; else (None, why: invalid | expired | used
        | not_admin)."""
        payload, _, signature = token.rpartition(".")
        parts = payload.split(".")
        if len(parts) != 3 or not hmac.compare_digest(signature, self._sign(payload)):
            return None, "invalid"
        raw_user, raw_expiry, nonce = parts
        if not (raw_user.lstrip("-").isdigit() and raw_expiry.isdigit()):
            return None, "invalid"
        if int(raw_expiry) < self._clock():
            return None, "expired"
        kept = await self.store.pop_ephemeral(f"console:login:{nonce}")  # single use
        if kept is None or kept.get("uid") != int(raw_user):
            return None, "used"
        if int(raw_user) not in self.admin_ids:
            return None, "not_admin"
        return int(raw_user), ""

    # -- sessions ---------------------------------------------------------------------------
    async def open_session(self, user_id: int) -> tuple[str, Session]:
        """A new session: (cookie value, session)."""
        session_id = secrets.token_urlsafe(32)
        session = Session(user_id, secrets.token_urlsafe(24), self._clock())
        value = {"uid": user_id, "csrf": session.csrf, "started": session.started}
        await self.store.set_ephemeral(f"console:session:{_hash(session_id)}", value, SESSION_TTL)
        return session_id, session

    async def session(self, session_id: str | None) -> Session | None:
        if not session_id or len(session_id) > 100:
            return None
        kept = await self.store.get_ephemeral(f"console:session:{_hash(session_id)}")
        if kept is None:
            return None
        user_id = int(kept.get("uid", 0))
        if user_id not in self.admin_ids:  # no longer an admin: the session ends here
            return None
        return Session(user_id, str(kept.get("csrf", "")), float(kept.get("started", 0)))

    async def close_session(self, session_id: str) -> None:
        await self.store.drop_ephemeral(f"console:session:{_hash(session_id)}")

    @staticmethod
    def csrf_ok(session: Session, sent: str | None) -> bool:
        return bool(sent) and bool(session.csrf) and hmac.compare_digest(session.csrf, sent or "")
