"""Prometheus metrics of one bot process (prometheus-client), served at /metrics.

One `Metrics` object per process, with its own registry (tests build several in one process);
the middlewares, the dialogue's callers, the broadcaster and the stores report into it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# seconds: from an update entering the dispatcher to its handler returning
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("yb_updates", "Updates received, by type", ["type"], registry=r)
        self.handler_seconds = Histogram(
            "yb_handler_seconds", "Time to handle one update", ["type"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.handler_errors = Counter("yb_handler_errors", "Updates whose handler raised", registry=r)
        self.decisions = Counter("yb_decisions", "Replies to questions, by kind", ["kind"], registry=r)
        self.declines = Counter("yb_declines", "Declined questions, by reason", ["reason"], registry=r)
        self.feedback = Counter("yb_feedback_votes", "Feedback votes", ["vote"], registry=r)
        self.throttled = Counter("yb_throttled_messages", "Messages dropped by the throttle", registry=r)
        self.personal_data = Counter(
            "yb_personal_data_warnings", "Messages that held an ID-card or card number", registry=r
        )
        self.broadcast = Counter(
            "yb_broadcast_messages", "Broadcast sends, by outcome", ["outcome"], registry=r
        )
        self.redis_errors = Counter("yb_redis_errors", "Redis commands that failed", registry=r)
        self.redis_up = Gauge("yb_redis_up", "1 while Redis answers, 0 during an outage", registry=r)
        self.api_errors = Counter(
            "yb_bot_api_errors", "Bot API calls that failed, by kind", ["kind"], registry=r
        )
        self.api_retries = Counter(
            "yb_bot_api_retries", "Bot API calls retried, by method", ["method"], registry=r
        )
        self.redis_up.set(1)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
