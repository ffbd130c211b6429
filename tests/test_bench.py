"""The benchmarks still run, at small sizes: they hold the broadcast and crash guarantees.

The figures themselves come from full-size runs, in docs/benchmarks.md; here each bench is run
small and must exit 0, which it does only with no duplicates, nobody missed, no 429 at the
free ceiling, and (for the crash bench) no more repeats than the bot reported as uncertain.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench(*args: str, timeout: float = 300) -> str:
    """Run `python bench/...` from the repository root; return its output if it exits 0."""
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize(
    "mode", [[], ["--paid"], ["--paid", "--key"]], ids=["free", "paid", "paid, sealed"]
)
def test_broadcast_bench_sends_to_everyone_once(mode: list[str]) -> None:
    out = bench("bench/broadcast.py", "--subscribers", "200", *mode)
    assert "· duplicates 0 · missed 0 ·" in out
    assert "429s 0" in out
    assert "403 marked blocked 2/2" in out  # read back from the database, sealed or not


def test_crash_bench_misses_nobody_across_kills() -> None:
    out = bench("bench/crash.py", "--recipients", "600", "--kills", "3", "--paid", "--seed", "5")
    assert ", 0 missed;" in out


def test_storm_bench_records_every_sign_up() -> None:
    out = bench("bench/storm.py", "--users", "150", "--runs", "1")
    assert "errors: 0; every sign-up recorded" in out


def test_crowd_bench_delivers_every_reply_under_the_limits() -> None:
    out = bench("bench/crowd.py", "storm", "--users", "60", "--runs", "1")
    assert "every reply delivered once, none refused" in out
    assert "429s 0 in all" in out


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL")
def test_crowd_bench_on_two_webhook_processes_during_a_broadcast() -> None:
    out = bench(
        "bench/crowd.py", "webhook", "--users", "40", "--subscribers", "100", "--runs", "1"
    )
    assert "every reply and broadcast message delivered once, none refused" in out


def test_sealing_bench_keeps_every_row_through_migration_and_rotations() -> None:
    """bench/sealing.py: 0010 -> 0011 and three rotate-keys, every row checked after each."""
    out = bench("bench/sealing.py", "--subscribers", "300")
    assert "migrate 0010 -> 0011:" in out
    assert "rotate-key a key -> none:" in out
    assert out.rstrip().endswith("every row kept at every step")


def test_desk_bench_reads_the_desk_and_broadcasts_beside_it() -> None:
    """bench/desk.py, small: both readings answer, and the broadcast beside the open desk
    reaches everyone once with no 429."""
    out = bench("bench/desk.py", "latency", "--quick")
    assert "SQLite: GET /desk/api/overview: median" in out
    assert "SQLite: GET /desk/api/broadcasts: median" in out
    out = bench("bench/desk.py", "broadcast", "--quick")
    assert "desk open, run 1:" in out
    assert "429s 0, duplicates 0, missed 0" in out
