"""The gateway's side of order numbers: the window a resume replays from, and each socket's
stream of numbered frames (never a frame twice, and a gap said out loud)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from cryptocfd.bus.messages import Record
from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.money import Cents
from cryptocfd.gateway.live import LiveHub, Subscriber
from cryptocfd.gateway.order_window import OrderWindow
from cryptocfd.trading.events import Accepted, OrderCancelled

ASSETS = {spec.symbol: spec for spec in DEFAULT_ASSETS}


def cancelled(order_id: int, account_id: int = 1) -> OrderCancelled:
    return OrderCancelled(order_id, account_id, Cents(100), 1_000 + order_id)


def held_numbers(window: OrderWindow, account_id: int, since: int) -> list[int] | None:
    found = window.after(account_id, since)
    return None if found is None else [seq for seq, _event in found]


def test_window_when_events_are_consecutive_replays_those_after_since() -> None:
    window = OrderWindow(frames=100, per_account=10)
    for seq in range(1, 6):
        window.add(1, seq, cancelled(seq))

    assert held_numbers(window, 1, 2) == [3, 4, 5]
    assert held_numbers(window, 1, 0) == [1, 2, 3, 4, 5]
    assert held_numbers(window, 1, 5) == []
    assert held_numbers(window, 1, 6) is None  # ahead of anything held
    assert held_numbers(window, 2, 0) is None  # nothing held of that account
    assert window.newest(1) == 5


def test_window_when_an_account_passes_its_bound_forgets_its_oldest() -> None:
    window = OrderWindow(frames=100, per_account=3)
    for seq in range(1, 6):
        window.add(1, seq, cancelled(seq))

    assert held_numbers(window, 1, 2) == [3, 4, 5]
    assert held_numbers(window, 1, 1) is None  # 2 fell out: the replay would not be whole


def test_window_when_all_accounts_pass_the_global_bound_forgets_the_oldest_first() -> None:
    window = OrderWindow(frames=4, per_account=10)
    window.add(1, 1, cancelled(1))
    window.add(2, 1, cancelled(2, 2))
    for seq in range(2, 5):
        window.add(1, seq, cancelled(seq))

    assert held_numbers(window, 1, 1) == [2, 3, 4]
    assert held_numbers(window, 1, 0) is None
    assert held_numbers(window, 2, 0) == [1]


def test_window_when_a_number_is_skipped_starts_the_account_again_from_it() -> None:
    window = OrderWindow(frames=100, per_account=10)
    for seq in (1, 2, 5, 6):
        window.add(1, seq, cancelled(seq))

    assert held_numbers(window, 1, 4) == [5, 6]
    assert held_numbers(window, 1, 2) is None  # 3 and 4 were never seen here


@given(
    st.lists(st.tuples(st.integers(1, 3), st.booleans()), max_size=60),
    st.integers(1, 8),
    st.integers(1, 5),
)
def test_window_whatever_arrives_stays_within_bounds_and_replays_only_whole_runs(
    arrivals: list[tuple[int, bool]], frames: int, per_account: int
) -> None:
    window = OrderWindow(frames=frames, per_account=per_account)
    numbers = dict.fromkeys((1, 2, 3), 0)
    came: list[tuple[int, int]] = []  # (account, seq) in arrival order
    restarted = dict.fromkeys((1, 2, 3), 0)  # the number each account's window starts again at
    for account_id, skip in arrivals:
        numbers[account_id] += 2 if skip else 1
        if skip:
            restarted[account_id] = numbers[account_id]
        came.append((account_id, numbers[account_id]))
        window.add(account_id, numbers[account_id], cancelled(numbers[account_id], account_id))

    assert sum(len(held) for held in window.accounts.values()) <= frames
    for account_id in numbers:
        # Exactly what the bounds allow: among the last ``frames`` arrivals, the account's
        # newest ``per_account``, since its window last started again.
        recent = [seq for who, seq in came[-frames:] if who == account_id]
        expected = [seq for seq in recent[-per_account:] if seq >= restarted[account_id]]
        held = [seq for seq, _event in window.accounts.get(account_id, ())]
        assert held == expected
    for account_id, newest in numbers.items():
        for since in range(newest + 1):
            found = held_numbers(window, account_id, since)
            if found is not None:
                assert found == list(range(since + 1, newest + 1))  # whole, up to the newest


def test_window_when_a_burst_passed_its_account_bound_still_holds_its_recent_events() -> None:
    # An account's burst overflows its own bound; its evicted events must not, when their
    # turn comes under the global bound, take the account's newer events with them.
    window = OrderWindow(frames=1_000, per_account=50)
    seq = {1: 0, 2: 0}
    for _ in range(200):
        seq[1] += 1
        window.add(1, seq[1], cancelled(seq[1], 1))
    for step in range(3_000):
        account_id = 1 if step % 10 == 0 else 2
        seq[account_id] += 1
        window.add(account_id, seq[account_id], cancelled(seq[account_id], account_id))

    assert held_numbers(window, 1, seq[1] - 50) == list(range(seq[1] - 49, seq[1] + 1))


def frames_of(subscriber: Subscriber) -> list[dict[str, object]]:
    return [json.loads(message) for message in subscriber.take()]


def record(seq: int, order_id: int) -> Record:
    return Record("tick", None, 0, Accepted((cancelled(order_id),)), applied=True, seqs=(seq,))


def test_subscriber_when_numbers_repeat_or_skip_sends_each_once_and_says_resync() -> None:
    hub = LiveHub(ASSETS)
    subscriber = Subscriber(1)
    hub.subscribe(subscriber, ["orders"])
    subscriber.start_orders(1)  # the client has number 1

    for seq in (1, 2, 2, 5):
        hub.on_record(record(seq, seq))

    frames = frames_of(subscriber)
    assert [(f.get("type"), f.get("seq")) for f in frames] == [
        (None, 2),
        ("resync", 2),
        (None, 5),
    ]
    assert frames[1]["error"] == {
        "code": "RESYNC",
        "message": "order events 3 to 4 cannot be replayed here",
    }


def test_hub_when_nobody_listens_still_holds_the_events_for_a_resume() -> None:
    hub = LiveHub(ASSETS, OrderWindow(frames=10, per_account=10))

    hub.on_record(record(1, 7))
    hub.on_record(Record("tick", None, 0, Accepted((cancelled(8),)), applied=False))

    assert held_numbers(hub.window, 1, 0) == [1]  # a repeat is not held again
