"""What the bot counts for Prometheus: updates, sends, 429s, retries, queue waits, broadcasts.

The metrics live in prometheus_client's default registry, so one scrape also shows the process's
CPU and memory. They hold counts and durations only: never a chat id, a name or a text.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

UPDATES = Counter("solidarity_updates_total", "Updates handed to the handlers, by kind.", ["kind"])
UPDATES_SKIPPED = Counter(
    "solidarity_updates_skipped_total",
    "Updates that could not be parsed and were skipped, by kind.",
    ["kind"],
)
SENT = Counter(
    "solidarity_messages_sent_total",
    "Calls that put something in a chat and succeeded, by Bot API method and lane.",
    ["method", "lane"],
)
TOO_MANY = Counter(
    "solidarity_telegram_429_total", "Answers 429 (Too Many Requests) from Telegram.", ["lane"]
)
RETRIES = Counter(
    "solidarity_telegram_retries_total",
    "Calls to Telegram tried again, by reason (429, network, timeout).",
    ["reason"],
)
QUEUED = Gauge(
    "solidarity_send_queue_length", "Calls waiting for a send slot now, by lane.", ["lane"]
)
WAIT = Histogram(
    "solidarity_send_wait_seconds",
    "How long a call waited for its send slot, by lane.",
    ["lane"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
BROADCAST_DELIVERIES = Counter(
    "solidarity_broadcast_deliveries_total",
    "Broadcast recipients brought to an outcome, by outcome.",
    ["outcome"],
)
BROADCAST_LEFT = Gauge(
    "solidarity_broadcast_recipients_left",
    "Recipients of broadcasts being sent that have no outcome yet (sender process only).",
)

ANSWER_QUEUE = Gauge(
    "solidarity_answer_queue_length",
    "Sends waiting for a free-lane slot now, by kind (organizer, first, later, broadcast).",
    ["kind"],
)
ANSWER_OLDEST = Gauge(
    "solidarity_answer_queue_oldest_seconds",
    "How long the oldest send waiting for a free-lane slot has waited, by kind.",
    ["kind"],
)
INBOX = Gauge(
    "solidarity_inbox_updates",
    "Updates taken from Telegram and not yet answered (all processes), by lane.",
    ["lane"],
)
INBOX_OLDEST = Gauge(
    "solidarity_inbox_oldest_seconds",
    "How long the oldest unanswered update of each lane has waited (all processes).",
    ["lane"],
)
TELEGRAM_PENDING = Gauge(
    "solidarity_telegram_pending_updates",
    "Updates waiting at Telegram, not yet taken (pending_update_count of getWebhookInfo).",
)
POLL_FAILURES = Counter(
    "solidarity_update_fetch_failures_total",
    "getUpdates or deleteWebhook calls that failed and were tried again.",
)
PAID_ANSWERS = Counter(
    "solidarity_paid_answers_total",
    "Answers sent in Telegram's paid lane because the free queue's wait passed the threshold.",
)


def exposition() -> tuple[bytes, str]:
    """Return every metric in Prometheus' text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
