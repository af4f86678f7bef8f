"""lightnb's one watchdog thread for every time limit (:func:`lightnb.time_limit.deadline`)."""

from __future__ import annotations

import threading
import time

from lightnb import time_limit


def test_a_deadline_runs_its_action_once_its_time_passed_during_the_block():
    ran = threading.Event()
    with time_limit.deadline(0.05, ran.set) as armed:
        assert ran.wait(10)
    assert armed.fired


def test_a_block_that_ends_in_time_never_sees_its_action_run():
    ran: list[str] = []
    with time_limit.deadline(0.2, lambda: ran.append("late")) as armed:
        pass
    time.sleep(0.4)
    assert ran == [] and not armed.fired


def test_deadlines_fire_in_their_order_whatever_the_order_they_were_armed_in():
    order: list[str] = []
    done = threading.Event()
    with time_limit.deadline(0.3, lambda: (order.append("late"), done.set())), \
            time_limit.deadline(0.05, lambda: order.append("early")), \
            time_limit.deadline(60, lambda: order.append("never")):
        assert done.wait(10)
    assert order == ["early", "late"]


def test_a_running_action_ends_before_the_block_does():
    """Nothing the action stops may be reached after the block (a statement run after it)."""
    started, finished = threading.Event(), []

    def slow_action() -> None:
        started.set()
        time.sleep(0.3)
        finished.append(True)

    with time_limit.deadline(0.01, slow_action):
        assert started.wait(10)
    assert finished == [True]


def test_one_thread_serves_every_deadline():
    before = {t.name for t in threading.enumerate()}
    for _ in range(50):
        with time_limit.deadline(60, lambda: None):
            pass
    watchdogs = [t for t in threading.enumerate() if t.name == "lightnb-sql-time-limit"]
    assert len(watchdogs) == 1, (before, watchdogs)


def test_a_reader_thread_works_with_the_callers_limit():
    """The proof's and the Run panel's measurements ahead run in reader threads: they keep the project's limit."""
    from lightnb.reader import Reader
    with time_limit.configured(0.5):
        with Reader(lambda opened: time_limit.seconds()) as reader:
            assert reader.result() == 0.5
    with time_limit.limited(None), Reader(lambda opened: time_limit.seconds()) as reader:
        assert reader.result() is None
