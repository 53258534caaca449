"""A real Redis server for the tests: the one at $REDIS_URL, or a private one we start.

If nothing answers at REDIS_URL (default redis://127.0.0.1:6379/0), a private `redis-server`
is started on a free port with no persistence and stopped afterwards. When the binary is
missing and we are root on Debian, Debian's `redis-server` package is installed first.
Tests never flush a database: they write under a unique key prefix and delete only that.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def _answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True, env=env)
        found = shutil.which("redis-server") or "/usr/bin/redis-server"
        if os.path.exists(found):
            return found
    raise RuntimeError(
        "No Redis answers at REDIS_URL and `redis-server` is not installed. "
        "Install it (Debian: apt-get install redis-server) or set REDIS_URL to a running server."
    )


@contextmanager
def redis_server() -> Iterator[str]:
    """Yield the URL of a Redis server that answers, starting a private one if needed."""
    url = os.environ.get("REDIS_URL") or DEFAULT_URL
    if _answers(url):
        yield url
        return
    binary = _redis_binary()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="yb-redis-") as workdir:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        private = f"redis://127.0.0.1:{port}/0"
        try:
            deadline = time.monotonic() + 10
            while not _answers(private):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"private redis-server on port {port} did not start")
                time.sleep(0.05)
            yield private
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


def _end(proc: subprocess.Popen[bytes], *, crash: bool = False) -> None:
    """Stop a server process: SIGTERM (SIGKILL after 5 s), or SIGKILL at once with `crash`."""
    if crash:
        proc.kill()
    else:
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class PrivateRedis:
    """A redis-server of a test's own, with AOF on, that the test can stop and start again on
    the same port and directory (what it wrote before survives, as it would in production)."""

    def __init__(self, *extra: str) -> None:
        self.binary = _redis_binary()
        self.port = free_port()
        self.extra = extra  # more redis-server arguments, e.g. "--replicaof", "127.0.0.1", "6380"
        self._dir = tempfile.TemporaryDirectory(prefix="yb-redis-")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", self._dir.name, *self.extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not _answers(self.url):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def wait_synced(self, within: float = 10) -> None:
        """For a replica: wait until its link to the master is up and the first sync done."""
        client = redis.Redis(port=self.port, socket_timeout=1, decode_responses=True)
        deadline = time.monotonic() + within
        try:
            while client.info("replication").get("master_link_status") != "up":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"replica on port {self.port} did not sync")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self, *, crash: bool = False) -> None:
        """Stop the server: SIGTERM, or SIGKILL with `crash` (nothing flushed on the way out)."""
        if self._proc is not None:
            _end(self._proc, crash=crash)
            self._proc = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()


class PrivateSentinel:
    """A Redis Sentinel (redis-server --sentinel) of a test's own, watching one master as
    `service`; quick to decide (down after 500 ms) so that a failover fits in a test."""

    def __init__(self, master_port: int, service: str = "mymaster") -> None:
        self.binary = _redis_binary()
        self.port = free_port()
        self.service = service
        self._dir = tempfile.TemporaryDirectory(prefix="yb-sentinel-")
        self._conf = os.path.join(self._dir.name, "sentinel.conf")
        with open(self._conf, "w", encoding="utf-8") as conf:  # the sentinel rewrites its file
            conf.write(
                f"port {self.port}\nbind 127.0.0.1\ndir {self._dir.name}\n"
                f"sentinel monitor {service} 127.0.0.1 {master_port} 1\n"
                f"sentinel down-after-milliseconds {service} 500\n"
                f"sentinel failover-timeout {service} 5000\n"
                f"sentinel parallel-syncs {service} 1\n"
            )
        self._proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis+sentinel://127.0.0.1:{self.port}/{self.service}/{db}"

    def master_port(self) -> int | None:
        client = redis.Redis(port=self.port, socket_timeout=1)
        try:
            found = client.execute_command("SENTINEL", "get-master-addr-by-name", self.service)
        except (redis.RedisError, OSError):
            return None
        finally:
            client.close()
        return int(found[1]) if found else None

    def wait_replicas(self, count: int, within: float = 15) -> None:
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + within
        try:
            while len(client.execute_command("SENTINEL", "replicas", self.service)) < count:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sentinel on port {self.port} did not find {count} replica(s)")
                time.sleep(0.1)
        finally:
            client.close()

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [self.binary, self._conf, "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while self.master_port() is None:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private redis sentinel on port {self.port} did not start")
            time.sleep(0.05)

    def close(self) -> None:
        if self._proc is not None:
            _end(self._proc)
            self._proc = None
        self._dir.cleanup()
