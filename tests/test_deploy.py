"""The deployment files in deploy/, checked without Docker: the compose file's structure and
profiles, nginx's upstream and which paths it exposes, the Dockerfile's stages, user, health check
and copied paths, the systemd units, and that the settings they and deploy/README.md name are the
fields of `bot.settings.Settings`. `docker compose config` and `nginx -t` run only where those
programs are installed; otherwise those tests are skipped with the reason."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from aiohttp import web
from pydantic import SecretStr

from bot.app import BROADCAST_STOP_SECONDS, DRAIN_SECONDS, WEBHOOK_PATH
from bot.dialogue import Dialogue
from bot.metrics import Metrics
from bot.redis_conn import connect
from bot.settings import Settings
from bot.web import add_routes

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
NGINX = DEPLOY / "nginx.conf"
UNIT = DEPLOY / "yibao-bot.service"
TEMPLATE = DEPLOY / "yibao-bot-webhook@.service"
README = DEPLOY / "README.md"

SETTINGS = {name.upper() for name in Settings.model_fields}
# environment variables the deploy files set that are not the bot's settings
NOT_SETTINGS = {"PATH", "TMPDIR", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}
# the bot's promise on SIGTERM: drain, then stop the broadcaster; exit within 10 s
STOP_SECONDS = DRAIN_SECONDS + BROADCAST_STOP_SECONDS


def _seconds(value: str) -> float:
    """'15', '15s', '1m30s' (compose and systemd durations) → seconds."""
    units = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value.strip())
    assert parts, f"not a duration: {value!r}"
    return sum(float(n) * units[u] for n, u in parts)


def _validate(values: dict[str, str], where: str) -> None:
    """The values are settings and valid ones (pydantic's own validation)."""
    unknown = set(values) - SETTINGS
    assert not unknown, f"{where} sets {sorted(unknown)}, which bot/settings.py does not know"
    Settings.model_validate({k.lower(): v for k, v in values.items()})  # validation only, no env


# -- docker-compose.yml ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # resolves the `<<` merge keys
    assert isinstance(data, dict)
    return data


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return cast("dict[str, dict[str, Any]]", compose["services"])


def _is_bot(service: dict[str, Any]) -> bool:
    build = service.get("build")
    return isinstance(build, dict) and build.get("dockerfile") == "deploy/Dockerfile"


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _in_profile(service: dict[str, Any], profile: str) -> bool:
    profiles = service.get("profiles")
    return not profiles or profile in profiles  # no profiles: started by every profile


def _stack(compose: dict[str, Any], profile: str) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in _services(compose).items() if _in_profile(s, profile)}


def _webhook_replicas(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: s
        for name, s in _services(compose).items()
        if _is_bot(s) and _env(s).get("BOT_MODE") == "webhook"
    }


def test_redis_persists_with_aof_and_has_a_health_check(compose: dict[str, Any]) -> None:
    redis = _services(compose)["redis"]
    assert str(redis["image"]).startswith("redis:7")
    command = redis["command"]
    args = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--appendfsync") + 1] == "everysec"
    test = redis["healthcheck"]["test"]
    assert "redis-cli" in test and "ping" in test
    mounts = [str(v).split(":") for v in redis["volumes"]]
    data = [m for m in mounts if len(m) >= 2 and m[1] == "/data"]
    assert data, "no volume on /data"
    assert data[0][0] in (compose.get("volumes") or {}), "the /data volume is not a named volume"
    assert not redis.get("profiles"), "redis must be part of every profile"
    assert "ports" not in redis, "redis is published on the host"


@pytest.mark.parametrize("profile", ["polling", "webhook"])
def test_each_profile_starts_a_sensible_stack(compose: dict[str, Any], profile: str) -> None:
    stack = _stack(compose, profile)
    assert "redis" in stack
    bots = {name: s for name, s in stack.items() if _is_bot(s)}
    modes = {_env(s).get("BOT_MODE") for s in bots.values()}
    assert modes == {profile}, f"profile {profile} starts bots in modes {modes}"
    if profile == "polling":
        assert list(bots) == ["bot"], "long polling is exactly one process per token"
        assert "nginx" not in stack
    else:
        assert len(bots) >= 2
        assert "nginx" in stack
        assert "bot" not in stack


def test_webhook_replicas_listen_for_nginx(compose: dict[str, Any]) -> None:
    replicas = _webhook_replicas(compose)
    assert len(replicas) >= 2
    for name, service in replicas.items():
        env = _env(service)
        assert env["WEB_HOST"] == "0.0.0.0", name
        assert "ports" not in service, f"{name} is published on the host: only nginx should be"


def test_bots_wait_for_a_healthy_redis_and_stop_gracefully(compose: dict[str, Any]) -> None:
    bots = {name: s for name, s in _services(compose).items() if _is_bot(s)}
    assert bots
    for name, service in bots.items():
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name
        env = _env(service)
        assert env["REDIS_URL"] == "redis://redis:6379/0", name
        env_files = service["env_file"]
        env_files = [env_files] if isinstance(env_files, str) else env_files
        assert any((DEPLOY / str(f)).resolve() == ROOT / ".env" for f in env_files), name
        assert service.get("stop_signal", "SIGTERM") == "SIGTERM", name
        grace = _seconds(str(service.get("stop_grace_period", "10s")))
        assert grace > STOP_SECONDS, f"{name}: docker would SIGKILL before the bot has stopped"
        assert service["build"]["context"] == "..", name
        _validate(env, f"docker-compose.yml ({name})")


def test_nginx_service_uses_the_config_and_waits_for_the_replicas(compose: dict[str, Any]) -> None:
    nginx = _services(compose)["nginx"]
    assert any(str(v).split(":")[0] == "./nginx.conf" for v in nginx["volumes"])
    assert set(nginx["depends_on"]) == set(_webhook_replicas(compose))
    assert [str(p).rsplit(":", 1)[-1] for p in nginx["ports"]] == ["443"]


# -- nginx.conf --------------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def find(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]


def _parse_nginx(text: str) -> Directive:
    """nginx's syntax, enough for this file: directives, blocks, quotes and comments."""
    tokens = re.findall(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};"\']+', re.sub(r"#[^\n]*", "", text))
    root = Directive("main", [], [])
    stack = [root]
    words: list[str] = []
    for token in tokens:
        if token == "{":
            block = Directive(words[0], words[1:], [])
            assert stack[-1].block is not None
            stack[-1].block.append(block)
            stack.append(block)
            words = []
        elif token == "}":
            assert not words, f"directive without ';': {words}"
            stack.pop()
        elif token == ";":
            assert stack[-1].block is not None
            stack[-1].block.append(Directive(words[0], [w.strip("\"'") for w in words[1:]]))
            words = []
        else:
            words.append(token)
    assert len(stack) == 1 and not words, "unbalanced braces in nginx.conf"
    return root


@pytest.fixture(scope="module")
def nginx() -> Directive:
    return _parse_nginx(NGINX.read_text(encoding="utf-8"))


def _location(server: Directive, path: str) -> Directive:
    """The location nginx picks for `path`: exact match, else the longest prefix unless a regex
    (in file order) matches (no `^~` in this file)."""
    locations = server.find("location")
    for loc in locations:
        if loc.args[0] == "=" and loc.args[1] == path:
            return loc
    prefixes = [loc for loc in locations if len(loc.args) == 1 and path.startswith(loc.args[0])]
    for loc in locations:
        if loc.args[0] in ("~", "~*"):
            flags = re.IGNORECASE if loc.args[0] == "~*" else 0
            if re.search(loc.args[1], path, flags):
                return loc
    assert prefixes, f"no location for {path}"
    return max(prefixes, key=lambda loc: len(loc.args[0]))


def _public_server(nginx: Directive) -> Directive:
    servers = [s for s in nginx.find("server") if any("443" in d.args[0] for d in s.find("listen"))]
    assert len(servers) == 1
    return servers[0]


def _app_routes() -> set[str]:
    app = web.Application()
    add_routes(app, cast(Dialogue, None), Metrics(), None)
    return {route.resource.canonical for route in app.router.routes() if route.resource is not None}


def test_nginx_upstream_names_every_webhook_replica(nginx: Directive, compose: dict[str, Any]) -> None:
    upstreams = nginx.find("upstream")
    assert len(upstreams) == 1
    upstream = upstreams[0]
    servers = [d.args[0] for d in upstream.find("server")]
    replicas = _webhook_replicas(compose)
    assert sorted(s.rsplit(":", 1)[0] for s in servers) == sorted(replicas)
    for address in servers:
        host, _, port = address.rpartition(":")
        assert port == _env(replicas[host]).get("WEB_PORT", "8080"), address
    assert upstream.find("keepalive")
    if any("resolve" in d.args for d in upstream.find("server")):
        assert upstream.find("zone") and upstream.find("resolver"), "`resolve` needs zone and resolver"


def test_nginx_exposes_only_the_webhook(nginx: Directive) -> None:
    server = _public_server(nginx)
    assert "ssl" in server.find("listen")[0].args
    assert server.find("ssl_certificate") and server.find("ssl_certificate_key")
    upstream = nginx.find("upstream")[0].args[0]

    webhook = _location(server, WEBHOOK_PATH)
    assert webhook.args == ["=", WEBHOOK_PATH]
    assert webhook.find("proxy_pass")[0].args == [f"http://{upstream}"]
    limit = webhook.find("limit_except")
    assert limit and limit[0].args == ["POST"], "only POST /webhook should reach the bot"

    internal = _app_routes() - {WEBHOOK_PATH}
    assert {"/healthz", "/health", "/readyz", "/metrics"} <= internal
    for path in sorted(internal):
        block = _location(server, path).block or []
        rules = [(d.name, d.args[0]) for d in block if d.name in ("allow", "deny")]
        assert rules and rules[-1] == ("deny", "all"), f"{path} is public"
        for verb, who in rules[:-1]:
            assert verb == "allow" and who.startswith(("127.", "::1", "10.", "192.168.")), (path, who)

    for path in ("/", "/webhook/x", "/webhookx", "/metrics/x", "/admin", "/.env"):
        returns = _location(server, path).find("return")
        assert returns and returns[0].args[0] == "404", f"{path} does not answer 404"


def test_nginx_serves_the_operator_console_from_the_replicas(nginx: Directive) -> None:
    server = _public_server(nginx)
    upstream = nginx.find("upstream")[0].args[0]
    for path in ("/console/", "/console/login", "/console/static/console.css", "/console/changes/3/revert"):
        location = _location(server, path)
        assert location.args == ["/console/"], path
        assert location.find("proxy_pass")[0].args == [f"http://{upstream}"]
    headers = {d.args[0]: d.args[1] for d in _location(server, "/console/").find("proxy_set_header")}
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert _location(server, "/consolex").find("return")[0].args[0] == "404"


def _nginx_version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out.stderr + out.stdout)
    return tuple(int(n) for n in found.groups()) if found else (0,)


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    binary = shutil.which("nginx")
    if binary is None:
        pytest.skip("nginx is not installed here; the structure is checked by the tests above")
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed for a throwaway certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test"]
    subprocess.run(
        [openssl, *request, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    text = NGINX.read_text(encoding="utf-8")
    # no Docker DNS here: the replicas become local addresses, the certificate a throwaway one
    text = re.sub(r"(server\s+)bot-webhook-(\d+):8080", r"\g<1>127.0.0.1:808\2", text)
    text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", text)
    text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", text)
    if _nginx_version(binary) < (1, 27, 3):  # `resolve` in upstream servers came with 1.27.3
        text = re.sub(r"\n\s*resolver\s[^;]*;", "", re.sub(r"\s+resolve(?=[\s;])", "", text))
    (tmp_path / "site.conf").write_text(text, encoding="utf-8")
    temp = "\n".join(
        f"    {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n    access_log off;\n{temp}\n    include {tmp_path / 'site.conf'};\n}}\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(main), "-e", "stderr"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr


# -- Dockerfile --------------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def _dockerfile() -> tuple[dict[str, str], list[Stage]]:
    """ARGs before the first FROM (with their defaults), and the stages' instructions."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue  # comments, also inside continued instructions
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, rest = full.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in instructions:
        if keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif not stages:
            assert keyword == "ARG", f"{keyword} before the first FROM"
            key, _, default = rest.partition("=")
            args[key] = default
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def _copies(stage: Stage) -> list[tuple[str | None, list[str]]]:
    """Each COPY of a stage: (its --from, its sources)."""
    result: list[tuple[str | None, list[str]]] = []
    for args in stage.all("COPY"):
        words = shlex.split(args)
        flags = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        if paths and paths[0].startswith("["):
            paths = json.loads(" ".join(paths))
        source = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        result.append((source, paths[:-1]))
    return result


def test_dockerfile_has_a_builder_and_a_slim_runtime() -> None:
    _, stages = _dockerfile()
    assert len(stages) >= 2
    assert len({s.base for s in stages}) == 1, "the venv copied between stages needs the same python"
    assert "slim" in stages[-1].base
    runtime = stages[-1]
    names = [s.name for s in stages[:-1]]
    froms = [source for source, _ in _copies(runtime) if source is not None]
    assert froms and all(f in names for f in froms), f"runtime copies from {froms}, stages are {names}"
    # the runtime installs nothing itself: the dependencies come built from the builder
    assert not any("pip install" in run for run in runtime.all("RUN"))


def test_dockerfile_runs_as_a_fixed_non_root_user() -> None:
    _, stages = _dockerfile()
    runtime = stages[-1]
    users = runtime.all("USER")
    assert users, "the runtime stage has no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and user.isdigit() and int(user) >= 1000, users[-1]
    assert any(f"--uid {user}" in run for run in runtime.all("RUN")), "the uid is not created"


def test_dockerfile_builds_the_jieba_cache_as_the_runtime_user() -> None:
    _, stages = _dockerfile()
    runtime = stages[-1]
    order = [kw for kw, _ in runtime.instructions]
    warm = [i for i, (kw, a) in enumerate(runtime.instructions) if kw == "RUN" and "jieba.initialize()" in a]
    assert warm, "jieba's dictionary cache is not built at build time"
    assert order.index("USER") < warm[0], "a cache built by root (mode 0600) is unreadable for the user"
    env = " ".join(runtime.all("ENV"))
    tmpdir = re.search(r"TMPDIR=(\S+)", env)
    assert tmpdir, "TMPDIR (where jieba caches) is not fixed in the runtime image"
    assert any(tmpdir.group(1) in run and "10001" in run for run in runtime.all("RUN"))


def test_dockerfile_serves_8080_with_a_health_check_and_runs_the_bot() -> None:
    _, stages = _dockerfile()
    runtime = stages[-1]
    assert "8080" in runtime.all("EXPOSE")[0].split()
    assert json.loads(runtime.all("CMD")[-1]) == ["python", "-m", "bot"]
    health = runtime.all("HEALTHCHECK")
    assert health and "/healthz" in health[-1] and "curl" not in health[-1]
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(runtime.all("ENV"))))
    _validate({k: v for k, v in env.items() if k not in NOT_SETTINGS}, "Dockerfile ENV")


def test_every_path_the_dockerfile_copies_exists() -> None:
    _, stages = _dockerfile()
    copied = [src for stage in stages for source, srcs in _copies(stage) if source is None for src in srcs]
    assert copied
    for src in copied:
        assert list(ROOT.glob(src)), f"COPY {src}: not in the repository"
    for package in ("bot", "handlers", "knowledge"):  # pyproject.toml's packages
        assert package in copied


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for a top-level path: the last matching pattern decides."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        if fnmatch(path, pattern.lstrip("!").strip("/")):
            ignored = not negate
    return ignored


def test_the_build_context_holds_what_is_copied_and_no_secrets() -> None:
    lines = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    _, stages = _dockerfile()
    for stage in stages:
        for source, srcs in _copies(stage):
            for src in srcs if source is None else []:
                assert not _ignored(src.strip("/").split("/")[0], patterns), f"COPY {src} is ignored"
    for path in (".env", ".venv", ".git", "tests", ".mypy_cache"):
        assert _ignored(path, patterns), f"{path} would be sent to the build"


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _serving(status: int) -> Iterator[int]:
    """A local HTTP server answering GET /healthz with `status`; yields its port."""
    handler = type("Handler", (_Health,), {"status": status})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _run_health_check(port: int) -> int:
    health = _dockerfile()[1][-1].all("HEALTHCHECK")[-1]
    command = json.loads(health[health.index("CMD") + len("CMD") :])
    assert command[0] == "python", command
    env = {**os.environ, "WEB_PORT": str(port)}
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, timeout=15).returncode


@pytest.mark.parametrize(("status", "exit_status"), [(200, 0), (503, 1)])
def test_the_health_check_tells_healthy_from_unhealthy(status: int, exit_status: int) -> None:
    with _serving(status) as port:
        assert _run_health_check(port) == exit_status  # docker: 0 healthy, 1 unhealthy


def test_the_health_check_fails_when_nothing_listens() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert _run_health_check(port) == 1


# -- systemd units -----------------------------------------------------------------------------


def _unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Sections → (key, value) pairs in order; keys may repeat (Environment=)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a key=value line: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def _get(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def _environment(unit: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    pairs = [item for value in _get(unit, "Service", "Environment") for item in shlex.split(value)]
    return dict(pair.split("=", 1) for pair in pairs)


def _exec_start(unit: dict[str, list[tuple[str, str]]]) -> tuple[dict[str, str], list[str]]:
    """ExecStart's argv, with the variables of a leading /usr/bin/env split off."""
    (line,) = _get(unit, "Service", "ExecStart")
    argv = shlex.split(line)
    env: dict[str, str] = {}
    if Path(argv[0]).name == "env":
        argv = argv[1:]
        while argv and "=" in argv[0]:
            key, _, value = argv.pop(0).partition("=")
            env[key] = value
    return env, argv


@pytest.mark.parametrize("path", [UNIT, TEMPLATE], ids=lambda p: p.name)
def test_units_run_the_bot_from_the_checkouts_venv(path: Path) -> None:
    unit = _unit(path)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    venv = re.search(r"^VENV \?= (\S+)$", makefile, re.MULTILINE)
    assert venv, "Makefile: no VENV"
    (workdir,) = _get(unit, "Service", "WorkingDirectory")
    _, argv = _exec_start(unit)
    assert argv[0] == f"{workdir}/{venv.group(1)}/bin/python", argv
    assert argv[1:3] == ["-m", "bot"], argv
    assert _get(unit, "Service", "User") not in ([], ["root"])
    assert _get(unit, "Install", "WantedBy") == ["multi-user.target"]


@pytest.mark.parametrize("path", [UNIT, TEMPLATE], ids=lambda p: p.name)
def test_units_stop_with_sigterm_and_wait_long_enough(path: Path) -> None:
    unit = _unit(path)
    assert _get(unit, "Service", "KillSignal") == ["SIGTERM"]
    (timeout,) = _get(unit, "Service", "TimeoutStopSec")
    assert _seconds(timeout) > STOP_SECONDS, "systemd would SIGKILL before the bot has stopped"


@pytest.mark.parametrize("path", [UNIT, TEMPLATE], ids=lambda p: p.name)
def test_units_are_hardened_and_keep_the_jieba_cache(path: Path) -> None:
    unit = _unit(path)
    for key, value in {
        "NoNewPrivileges": "true",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
    }.items():
        assert _get(unit, "Service", key) == [value], key
    env = _environment(unit)
    assert env.get("LOG_FORMAT") == "json"
    (cache,) = _get(unit, "Service", "CacheDirectory")
    assert env.get("TMPDIR") == f"/var/cache/{cache}", "jieba's cache would go to the private /tmp"
    _validate({k: v for k, v in env.items() if k not in NOT_SETTINGS}, f"{path.name} Environment=")


def test_the_template_runs_one_webhook_replica_per_port() -> None:
    unit = _unit(TEMPLATE)
    env, argv = _exec_start(unit)
    assert env.get("WEB_PORT") == "%i"
    assert env.get("WEB_HOST") == "127.0.0.1"
    assert "--webhook" in argv
    assert UNIT.name in " ".join(_get(unit, "Unit", "Conflicts")), "polling and webhooks would fight"


# -- deploy/README.md --------------------------------------------------------------------------


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _settings_table() -> dict[str, str]:
    """The `## Settings` table: setting → the default column."""
    section = _readme().split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*?) \|", section, re.MULTILINE))


def test_readme_documents_every_setting_and_nothing_else() -> None:
    table = _settings_table()
    assert not SETTINGS - set(table), f"not documented: {sorted(SETTINGS - set(table))}"
    assert not set(table) - SETTINGS, f"not settings: {sorted(set(table) - SETTINGS)}"


def test_readme_defaults_are_the_code_defaults() -> None:
    for name, shown in _settings_table().items():
        default = Settings.model_fields[name.lower()].default
        if default is None or default == frozenset():
            assert shown == "—", f"{name}: no default in the code, README shows {shown}"
            continue
        assert shown.startswith("`") and shown.endswith("`"), f"{name}: default {shown!r}"
        value = shown.strip("`")
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if isinstance(default, int | float) and not isinstance(default, bool):
            assert float(value) == float(default), name
        else:
            assert value == str(default), name


def test_readme_names_only_real_settings() -> None:
    named = set(re.findall(r"\b([A-Z][A-Z0-9_]{2,})=", _readme()))
    assert named, "the README shows no NAME=value"
    assert not named - SETTINGS - NOT_SETTINGS, f"unknown: {sorted(named - SETTINGS - NOT_SETTINGS)}"


def _sentinel_urls() -> list[str]:
    found = re.findall(r"redis\+sentinel://[^\s`]+", _readme())
    return [url for url in found if "[" not in url and "…" not in url]


async def test_readme_sentinel_urls_are_what_the_client_accepts() -> None:
    urls = _sentinel_urls()
    assert urls, "the README shows no concrete Sentinel URL"
    for url in [*urls, "redis+sentinel://h1/mymaster"]:  # the README's defaults: port 26379, db 0
        hosts = url.split("//", 1)[1].split("/", 1)[0].split(",")
        client = connect(url)
        try:
            pool = client.connection_pool
            assert getattr(pool, "service_name") == url.split("/")[3]  # noqa: B009
            sentinels = getattr(pool, "sentinel_manager").sentinels  # noqa: B009
            ports = [s.connection_pool.connection_kwargs["port"] for s in sentinels]
            assert ports == [int(h.partition(":")[2] or 26379) for h in hosts]
            parts = url.split("/")
            assert pool.connection_kwargs.get("db", 0) == (int(parts[4]) if len(parts) > 4 else 0)
        finally:
            await client.aclose()


# -- with Docker's compose, where installed ----------------------------------------------------


def _compose_command() -> list[str] | None:
    for command in (["docker", "compose"], ["docker-compose"]):
        binary = shutil.which(command[0])
        if binary is None:
            continue
        out = subprocess.run([binary, *command[1:], "version"], capture_output=True, check=False)
        if out.returncode == 0:
            return [binary, *command[1:]]
    return None


@pytest.mark.parametrize("profile", ["polling", "webhook"])
def test_docker_compose_accepts_the_file(compose: dict[str, Any], profile: str, tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("no `docker compose` here (no Docker client, or one without the compose plugin)")
    shutil.copytree(DEPLOY, tmp_path / "deploy")
    (tmp_path / ".env").write_text("BOT_TOKEN=1:test\nADMIN_IDS=1\n", encoding="utf-8")
    compose_file = str(tmp_path / "deploy" / COMPOSE.name)
    out = subprocess.run(
        [*command, "-f", compose_file, "--profile", profile, "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)["services"]) == set(_stack(compose, profile))
