"""The console's pages and actions (aiohttp handlers; templates in templates/).

Reads go through the state store and the change log; every action that changes the knowledge
is a change appended to the log (knowledge/overlay.py), checked first by building the engine
with it exactly as every process will (`KnowledgeSync.trial`), then applied to this process
at once and to the others by their own sync within seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from rapidfuzz import fuzz

from bot.broadcast import BroadcastStore
from bot.knowledge_sync import KnowledgeSync
from bot.state import CHINA, StateStore
from bot.webconsole import charts, queries
from bot.webconsole.auth import COOKIE, SESSION_TTL, ConsoleAuth, Session
from bot.webconsole.forms import EntryForm, declarable_asks, our_subjects, outside_subjects, prefill
from knowledge import impact, overlay, present
from knowledge.decision import Decision
from knowledge.engine import Engine
from knowledge.estimate import ESTIMATORS
from knowledge.overlay import Change
from knowledge.schema import SCHEMES, TOPICS, Entry

log = logging.getLogger(__name__)
SESSION: web.RequestKey[Session] = web.RequestKey("session", Session)
SEARCH_LIMIT = 10
DONE = {
    "alternate": "已把这个问法加到条目（修改 #{n}），所有进程几秒内生效。",
    "entry": "新条目已保存（修改 #{n}），所有进程几秒内生效。",
    "outside": "已标为相邻主题（修改 #{n}）。",
    "dismiss": "已忽略这组问题（修改 #{n}）。",
    "revert": "已撤销（修改 #{n}），所有进程几秒内生效。",
}


@dataclass(slots=True)
class Console:
    """What the pages need: the process's sync (its dialogue, engine and change log), the login
    service, and the broadcast store when there is Redis."""

    sync: KnowledgeSync
    auth: ConsoleAuth
    broadcasts: BroadcastStore | None = None

    @property
    def engine(self) -> Engine:
        return self.sync.dialogue.base_engine

    @property
    def store(self) -> StateStore:
        return self.sync.dialogue.state


CONSOLE: web.AppKey[Console] = web.AppKey("console", Console)


def _who(request: web.Request) -> str:
    return f"admin:{request[SESSION].user_id}"


def _back(request: web.Request, path: str, **query: Any) -> web.HTTPSeeOther:
    shown = {k: v for k, v in query.items() if v not in (None, "")}
    return web.HTTPSeeOther(f"/console{path}" + (f"?{urlencode(shown)}" if shown else ""))


def _page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    session = request.get(SESSION)
    context.setdefault("csrf", session.csrf if isinstance(session, Session) else "")
    context.setdefault("nav", template.split(".")[0])
    done = request.query.get("done", "")
    if done in DONE and request.query.get("n", "").isdigit():
        context.setdefault("flash", DONE[done].format(n=request.query["n"]))
    return aiohttp_jinja2.render_template(template, request, context, status=status)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the bot replies to a question (no profile): for previews and the group page."""

    kind: str
    entry: Entry | None
    text: str

    @property
    def label(self) -> str:
        if self.kind == "answer" and self.entry is not None:
            return f"回答：{self.entry.question}"
        return {"clarify": "反问地区或险种", "smalltalk": "寒暄"}.get(self.kind, "没有回答（婉拒）")


def outcome(engine: Engine, question: str) -> Outcome:
    return outcome_of(engine.decide(question))


def outcome_of(decision: Decision) -> Outcome:
    if decision.kind == "answer":
        return Outcome("answer", decision.entry, present.decision_text_body(decision))
    return Outcome(decision.kind, None, present.decision_text(decision))


# -- login --------------------------------------------------------------------------------------
LOGIN_REFUSED = {
    "invalid": "这个登录链接无效。",
    "expired": "这个登录链接已过期（有效 10 分钟）。",
    "used": "这个登录链接已经用过了（每个链接只能用一次）。",
    "not_admin": "这个账号不是管理员。",
}


async def login(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE]
    user_id, why = await console.auth.redeem(request.query.get("t", ""))
    if user_id is None:
        log.warning("console login refused: %s", why)
        return _page(request, "login.html", status=403, reason=LOGIN_REFUSED[why], nav="login")
    session_id, _session = await console.auth.open_session(user_id)
    log.info("console login (user in the log context)")
    response = web.Response(status=303, headers={"Location": "/console/"})
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=SESSION_TTL,
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=console.auth.secure,
    )
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    await request.app[CONSOLE].auth.close_session(request.cookies.get(COOKIE, ""))
    response = _page(request, "login.html", reason="已退出。", nav="login")
    response.del_cookie(COOKIE, path="/console")
    return response


# -- pages ----------------------------------------------------------------------------------------
async def home(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    data = await queries.overview(console.store)
    labels = [d[5:] for d in data.days]
    per_day = charts.stacked_bars(
        labels,
        [
            charts.Series("已回答", "answered", "#2e7d32", data.answered),
            charts.Series("未答（婉拒）", "declined", "#c62828", data.declined),
            charts.Series("反问地区/险种", "clarified", "#f9a825", data.clarified),
        ],
        title="近 30 天每天的问题",
    )
    subjects = charts.horizontal_bars(data.subjects, title="近 30 天问得最多的主题")
    share = data.share_answered
    ring = charts.share_ring(share, title="回答率", caption="已回答 ÷（已回答 + 未答）")
    open_groups = [r for r in await queries.unanswered_rows(console.store, console.sync.changes) if r.open]
    return _page(
        request,
        "home.html",
        overview=data,
        per_day=per_day,
        subjects_chart=subjects,
        ring=ring,
        open_groups=open_groups[:5],
        open_count=len(open_groups),
        entries=len(console.engine.kb),
        applied=len(console.sync.loaded.applied) if console.sync.loaded else 0,
    )


async def unanswered(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    rows = await queries.unanswered_rows(console.store, console.sync.changes)
    q = request.query
    days = int(q["days"]) if q.get("days", "").isdigit() else None
    status = q.get("status", "open") if q.get("status") in ("open", "handled", "all") else "open"
    sort = "recent" if q.get("sort") == "recent" else "count"
    shown = queries.filter_rows(
        rows, subject=q.get("subject", ""), place=q.get("place", ""), days=days, status=status, sort=sort
    )
    return _page(
        request,
        "unanswered.html",
        rows=shown,
        total=len(rows),
        subjects=sorted({s for r in rows for s in r.subjects}),
        places=sorted({p for r in rows for p in r.places}),
        filters={"subject": q.get("subject", ""), "place": q.get("place", ""), "days": days or ""},
        shown_status=status,
        sort=sort,
        when=_when,
    )


async def group(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    key = request.query.get("key", "")
    rows = await queries.unanswered_rows(console.store, console.sync.changes)
    row = next((r for r in rows if r.key == key), None)
    if row is None:
        raise web.HTTPNotFound(text="没有这组问题（可能已被清理）。")
    example = row.group.examples[0] if row.group.examples else ""
    engine = console.engine
    now = [(q, reply, outcome(engine, q)) for q, reply in row.examples]
    nearest = [c.entry for c in engine.decide(example).candidates[:5]] if example else []
    search = request.query.get("q", "").strip()
    found = search_entries(engine, search) if search else []
    return _page(
        request,
        "group.html",
        nav="unanswered",
        row=row,
        now=now,
        nearest=nearest,
        found=found,
        search=search,
        example=example,
        outside=outside_subjects(engine),
        when=_when,
    )


def search_entries(engine: Engine, text: str, limit: int = SEARCH_LIMIT) -> list[Entry]:
    """Entries whose id, question or phrasings are like `text`, the closest first."""
    text = text.strip()
    scored = []
    for entry in engine.kb.entries:
        if text == entry.id:
            return [entry]
        phrasings = (entry.question, *entry.alternates, " ".join(entry.tags))
        score = max(fuzz.partial_ratio(text, p) for p in phrasings)
        if text in entry.id:
            score = max(score, 90.0)
        scored.append((score, entry))
    scored.sort(key=lambda pair: -pair[0])
    return [entry for score, entry in scored[:limit] if score >= 50]


async def entries(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    search = request.query.get("q", "").strip()
    engine = console.engine
    shown = search_entries(engine, search, 50) if search else engine.kb.entries
    return _page(request, "entries.html", entries=shown, search=search, total=len(engine.kb))


async def entries_json(request: web.Request) -> web.Response:
    """Search as you type (console.js): id, question and where, as JSON."""
    engine = request.app[CONSOLE].engine
    found = search_entries(engine, request.query.get("q", ""))
    return web.json_response([{"id": e.id, "question": e.question, "where": e.where} for e in found])


# -- an alternate phrasing ------------------------------------------------------------------------
async def alternate(request: web.Request) -> web.Response:
    """POST: preview (default) or save `text` as a phrasing of `entry`."""
    console = request.app[CONSOLE]
    form = await request.post()
    text = str(form.get("text", "")).strip()
    entry_id = str(form.get("entry", "")).strip()
    key = str(form.get("group", ""))
    entry = console.engine.kb.by_id.get(entry_id)
    data = {"entry": entry_id, "text": text}
    trial = await console.sync.trial(overlay.ALTERNATE, data, key)
    problems = trial.problems
    shifts = await _shifts(console, trial.engine, [text]) if not problems and text else []
    problems = problems or breakage(shifts)
    after = outcome(trial.engine, text) if not problems else None
    answers = after is not None and after.entry is not None and after.entry.id == entry_id
    if form.get("action") == "save" and not problems:
        change = await console.sync.changelog.append(overlay.ALTERNATE, data, _who(request), key)
        await console.sync.refresh()
        log.info("console: alternate added to %s (change %d)", entry_id, change.id)
        if key:
            raise _back(request, "/group", key=key, done="alternate", n=change.id)
        raise _back(request, "/entries", q=entry_id, done="alternate", n=change.id)
    return _page(
        request,
        "alternate.html",
        status=422 if problems else 200,
        nav="unanswered" if key else "entries",
        text=text,
        entry=entry,
        entry_id=entry_id,
        key=key,
        before=outcome(console.engine, text) if text else None,
        after=after,
        answers=answers,
        problems=problems,
        shifts=shifts,
    )


# -- a new entry ----------------------------------------------------------------------------------
def _form_context(console: Console, form: EntryForm, **more: Any) -> dict[str, Any]:
    engine = console.engine
    return {
        "nav": "entries",
        "form": form,
        "topics": TOPICS,
        "schemes": SCHEMES,
        "subjects": our_subjects(engine),
        "asks": declarable_asks(engine),
        "persons": list(engine.vocabulary.persons),
        "estimators": list(ESTIMATORS),
        "today": dt.date.today().isoformat(),
        **more,
    }


async def new_entry_form(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    key = request.query.get("group", "")
    example = request.query.get("example", "")
    form = prefill(console.engine, key, example) if key else EntryForm()
    return _page(request, "entry_form.html", **_form_context(console, form, key=key))


async def new_entry(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    posted = await request.post()
    form = EntryForm.from_post(posted)
    key = str(posted.get("group", ""))
    topic, item, problems = form.to_item()
    form.values["id"] = str(item["id"])  # keep a generated id between preview and save
    previews: list[tuple[str, Outcome]] = []
    shifts: list[ShiftView] = []
    if not problems:
        data = {"topic": topic, "item": item}
        trial = await console.sync.trial(overlay.ENTRY, data, key)
        problems = trial.problems
        if not problems:
            shifts = await _shifts(console, trial.engine, [item["question"], *item["alternates"]])
            problems = breakage(shifts)
        if not problems:
            if posted.get("action") == "save":
                change = await console.sync.changelog.append(overlay.ENTRY, data, _who(request), key)
                await console.sync.refresh()
                log.info("console: new entry %s (change %d)", item["id"], change.id)
                if key:
                    raise _back(request, "/group", key=key, done="entry", n=change.id)
                raise _back(request, "/entries", q=str(item["id"]), done="entry", n=change.id)
            questions = [item["question"], *item["alternates"]]
            if key:
                rows = await queries.unanswered_rows(console.store, console.sync.changes)
                questions += next((r.group.examples for r in rows if r.key == key), [])
            previews = [(q, outcome(trial.engine, q)) for q in dict.fromkeys(questions) if q]
    context = _form_context(
        console, form, key=key, problems=problems, previews=previews, shifts=shifts, new_id=item["id"]
    )
    return _page(request, "entry_form.html", status=422 if problems else 200, **context)


# -- out of scope, dismiss ------------------------------------------------------------------------
async def mark_outside(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    form = await request.post()
    key = str(form.get("group", ""))
    data = {"subject": str(form.get("subject", "")), "term": str(form.get("term", "")).strip()}
    if data["subject"] not in outside_subjects(console.engine):
        return await _refused(request, key, "请选择一个相邻主题。")
    if data["term"]:  # a word that names the topic changes how questions are read: check it
        trial = await console.sync.trial(overlay.OUTSIDE, data, key)
        problems = trial.problems or breakage(await _shifts(console, trial.engine, words=[data["term"]]))
        if problems:
            return await _refused(request, key, "；".join(problems))
    change = await console.sync.changelog.append(overlay.OUTSIDE, data, _who(request), key)
    await console.sync.refresh()
    raise _back(request, "/unanswered", done="outside", n=change.id)


async def dismiss(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    form = await request.post()
    key = str(form.get("group", ""))
    if not key:
        raise web.HTTPBadRequest(text="缺少问题组")
    change = await console.sync.changelog.append(overlay.DISMISS, {}, _who(request), key)
    await console.sync.refresh()
    raise _back(request, "/unanswered", done="dismiss", n=change.id)


async def _refused(request: web.Request, key: str, message: str) -> web.Response:
    return _page(request, "message.html", status=422, nav="unanswered", message=message, key=key)


# -- what else a change would answer differently ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class ShiftView:
    shift: impact.Shift
    before: Outcome
    after: Outcome


async def _shifts(
    console: Console, trial: Engine, texts: Sequence[str] = (), words: Sequence[str] = ()
) -> list[ShiftView]:
    """The known questions (entries' phrasings, what users asked) that `trial` would answer
    otherwise than the live knowledge; `texts` themselves are left out (shown on their own)."""
    rows = await queries.unanswered_rows(console.store, console.sync.changes)
    asked = [q for row in rows for q in row.group.examples]
    live = console.engine

    def compute() -> list[ShiftView]:
        pool = impact.known_questions(live, asked)
        found = impact.shifts(live, trial, impact.likely_affected(pool, texts, words), exclude=texts)
        return [ShiftView(s, outcome_of(s.before), outcome_of(s.after)) for s in found]

    return await asyncio.to_thread(compute)


def breakage(shifts: list[ShiftView], limit: int = 5) -> list[str]:
    """Why a change is refused when it takes entries' own phrasings away from them."""
    broken = [v.shift for v in shifts if v.shift.loses_its_entry]
    if not broken:
        return []
    named = "、".join(f"「{s.question.text}」（{s.question.entry_id}）" for s in broken[:limit])
    more = f"等 {len(broken)} 个" if len(broken) > limit else ""
    return [f"这项修改会让已有条目的问法 {named}{more}不再由原条目回答。请换一个更具体的说法。"]


# -- the audit list -------------------------------------------------------------------------------
async def changes(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    log_ = await console.sync.changelog.changes()
    undone = overlay.reverted_ids(log_)
    rejected = console.sync.loaded.rejected if console.sync.loaded else {}
    return _page(
        request,
        "changes.html",
        changes=list(reversed(log_)),
        undone=undone,
        rejected=rejected,
        describe=describe,
        when=_when,
    )


async def revert(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    change_id = int(request.match_info["change_id"])
    log_ = await console.sync.changelog.changes()
    target = next((c for c in log_ if c.id == change_id), None)
    if target is None or target.kind == overlay.REVERT or change_id in overlay.reverted_ids(log_):
        return _page(request, "message.html", status=409, nav="changes", message="这条修改不能撤销。")
    if target.changes_knowledge:  # would it break a later change (an alternate of a new entry)?
        trial = await console.sync.trial(overlay.REVERT, {"change": change_id})
        before = set(console.sync.loaded.rejected) if console.sync.loaded else set()
        broken = sorted(set(trial.loaded.rejected) - before)
        if broken:
            message = f"撤销会使后来的修改 {'、'.join(f'#{b}' for b in broken)} 失效，请先撤销它们。"
            return _page(request, "message.html", status=409, nav="changes", message=message)
    change = await console.sync.changelog.append(overlay.REVERT, {"change": change_id}, _who(request))
    await console.sync.refresh()
    raise _back(request, "/changes", done="revert", n=change.id)


def describe(change: Change) -> str:
    data = change.data
    if change.kind == overlay.ALTERNATE:
        return f"给 {data.get('entry')} 加问法：{data.get('text')}"
    if change.kind == overlay.ENTRY:
        item = data.get("item") or {}
        return f"新条目 {item.get('id')}：{item.get('question')}"
    if change.kind == overlay.OUTSIDE:
        term = f"（词：{data['term']}）" if data.get("term") else ""
        return f"标为相邻主题 {data.get('subject')}{term}"
    if change.kind == overlay.DISMISS:
        return "忽略这组问题"
    if change.kind == overlay.REVERT:
        return f"撤销 #{data.get('change')}"
    return change.kind


# -- feedback, broadcasts -------------------------------------------------------------------------
async def feedback(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    rows = await queries.feedback_rows(console.store, console.engine)
    return _page(request, "feedback.html", rows=rows, when=_when)


async def broadcasts(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    jobs = await console.broadcasts.recent(50) if console.broadcasts is not None else None
    subscribers = await queries.subscribers(console.store)
    return _page(request, "broadcasts.html", jobs=jobs, subscribers=subscribers, when=_when)


def _when(unix: float | None) -> str:
    if not unix:
        return "—"
    return dt.datetime.fromtimestamp(unix, CHINA).strftime("%Y-%m-%d %H:%M")
