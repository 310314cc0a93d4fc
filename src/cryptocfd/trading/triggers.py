"""Per-asset trigger indexes: a tick costs O(log n + fired), never a scan of all positions.

Every trigger is an int in a binary heap: ``level << 44 | kind << 40 | order_id``. Heaps that
fire when the price falls to a level store ``-level`` instead, so a single ``heap[0] < threshold``
comparison tells whether anything fires. Entries are never searched for: a close or a change
leaves the old entry behind, and it is recognised as stale (its order is gone or its level moved)
when it reaches the top, or dropped when the heaps are compacted.

Trailing stops move with the price, so they are grouped: every long whose trailing stop armed
since the bid last exceeded some level shares that level as its peak. The groups form a stack
(oldest peak highest); when the bid rises past the newest groups they merge into one, smaller
into larger, so each trailing stop moves O(log n) times in all rather than on every tick. Each
group has one entry in the heaps, at ``peak - smallest distance``.

Margin calls have heaps of their own, on the mark: a position is *armed* while the mark is above
its margin-call price (a long's; below, a short's) and *called* while it is at or past it, so its
state is a function of the mark and never stored. An armed position has an entry in ``call_down``
(long) or ``call_up`` (short) at its call price, which the tick that reaches it pops
(``margin_calls``); a called one has an entry one tick beyond its call price in ``rearm_up`` (long)
or ``rearm_down`` (short), which the quote that recovers past it pops, putting the call entry back
(``rearm``). Re-arming runs as the quote is applied (``State.evolve``), so an engine that only
follows the events keeps the same entries; a call entry popped by the leader is still in a
follower's heap, which is why ``margin_calls`` also checks that the mark before the tick was above
the level.
"""

from __future__ import annotations

from collections.abc import Mapping
from heapq import heapify, heappop, heappush

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import PriceTicks
from cryptocfd.trading.book import PendingOrder, Position, TrailGroup
from cryptocfd.trading.commands import LIMIT
from cryptocfd.trading.margin import liquidation_price

LEVEL_SHIFT = 44
KIND_SHIFT = 40
ID_MASK = (1 << KIND_SHIFT) - 1
KIND_MASK = 0xF

# Kinds double as exit priority: when several exits of one position fire on the same tick, the
# lowest kind gives the reason.
LIQUIDATION = 0  # kind 0: add_liquidation relies on it adding nothing to a key
STOP_LOSS = 1
TRAILING = 2
TAKE_PROFIT = 3
ENTRY = 4
MARGIN_CALL = 5  # never an exit: kept in heaps of its own
REARM = 6

COMPACT_MIN_GARBAGE = 4096
ONE_TICK = PriceTicks(1)
DEDUPED = frozenset(("call_down", "call_up", "rearm_up", "rearm_down"))


def down_key(level: PriceTicks, kind: int, ident: int) -> int:
    """Key for a trigger that fires when the price falls to ``level`` or below."""
    return (-level << LEVEL_SHIFT) | (kind << KIND_SHIFT) | ident


def up_key(level: PriceTicks, kind: int, ident: int) -> int:
    """Key for a trigger that fires when the price rises to ``level`` or above."""
    return (level << LEVEL_SHIFT) | (kind << KIND_SHIFT) | ident


def down_threshold(price: PriceTicks) -> int:
    """Keys below this fire at ``price`` in a falls-to heap."""
    return (1 - price) << LEVEL_SHIFT


def up_threshold(price: PriceTicks) -> int:
    """Keys below this fire at ``price`` in a rises-to heap."""
    return (price + 1) << LEVEL_SHIFT


def decode(key: int, down: bool) -> tuple[PriceTicks, int, int]:  # noqa: FBT001
    """Split a key into (level, kind, order or group id)."""
    level = key >> LEVEL_SHIFT
    return PriceTicks(-level if down else level), (key >> KIND_SHIFT) & KIND_MASK, key & ID_MASK


class TriggerBook:
    """All triggers of one asset, and its trailing-stop groups."""

    __slots__ = (
        "ask_down",
        "ask_up",
        "bid_down",
        "bid_up",
        "call_bps",
        "call_down",
        "call_up",
        "compact_at",
        "divisor",
        "expiry",
        "garbage",
        "groups",
        "long_trail",
        "mark_down",
        "mark_up",
        "next_gid",
        "pending",
        "positions",
        "rearm_down",
        "rearm_up",
        "short_trail",
    )

    def __init__(
        self, positions: Mapping[int, Position], pending: dict[int, PendingOrder], spec: AssetSpec
    ) -> None:
        self.positions = positions
        self.pending = pending
        self.call_bps = spec.margin_call_bps
        self.divisor = spec.value_divisor
        self.bid_down: list[int] = []  # long stop-loss, long trailing groups, sell stop entries
        self.bid_up: list[int] = []  # long take-profit, sell limit entries
        self.ask_down: list[int] = []  # short take-profit, buy limit entries
        self.ask_up: list[int] = []  # short stop-loss, short trailing groups, buy stop entries
        self.mark_down: list[int] = []  # long liquidations
        self.mark_up: list[int] = []  # short liquidations
        self.expiry: list[int] = []  # expires_at << 40 | order_id
        self.call_down: list[int] = []  # armed long margin calls
        self.call_up: list[int] = []  # armed short margin calls
        self.rearm_up: list[int] = []  # called longs, one tick above their call price
        self.rearm_down: list[int] = []  # called shorts, one tick below their call price
        self.long_trail: list[TrailGroup] = []  # stack: peaks fall toward the top
        self.short_trail: list[TrailGroup] = []  # stack: troughs rise toward the top
        self.groups: dict[int, TrailGroup] = {}
        self.next_gid = 1
        self.garbage = 0
        self.compact_at = COMPACT_MIN_GARBAGE

    # -- adding -----------------------------------------------------------------------------

    def add_exits(self, pos: Position, bid: PriceTicks, ask: PriceTicks) -> None:
        """Index a position's stop-loss, take-profit and (re)armed trailing stop."""
        self.add_stops(pos)
        if pos.trailing_distance is not None and pos.trail_group is None:
            self.arm_trailing(pos, bid if pos.long else ask)

    def add_stops(self, pos: Position) -> None:
        """Index a position's stop-loss and take-profit."""
        ident = pos.id
        if pos.long:
            if pos.stop_loss is not None:
                heappush(self.bid_down, down_key(pos.stop_loss, STOP_LOSS, ident))
            if pos.take_profit is not None:
                heappush(self.bid_up, up_key(pos.take_profit, TAKE_PROFIT, ident))
        else:
            if pos.stop_loss is not None:
                heappush(self.ask_up, up_key(pos.stop_loss, STOP_LOSS, ident))
            if pos.take_profit is not None:
                heappush(self.ask_down, down_key(pos.take_profit, TAKE_PROFIT, ident))

    def add_liquidation(self, pos: Position) -> None:
        """Index a position's liquidation price (when it opens, and after a partial close)."""
        # down_key / up_key with LIQUIDATION (kind 0) written out: this runs on every open.
        if pos.long:
            heappush(self.mark_down, (-pos.liquidation_price << LEVEL_SHIFT) | pos.id)
        else:
            heappush(self.mark_up, (pos.liquidation_price << LEVEL_SHIFT) | pos.id)

    # -- margin calls -----------------------------------------------------------------------

    def call_price(self, pos: Position) -> PriceTicks:
        """The mark at which ``pos``'s equity falls to the asset's margin-call share of its
        margin, rounded as its liquidation price is."""
        return liquidation_price(
            pos.long, pos.open_price, pos.quantity, pos.margin, self.call_bps, self.divisor
        )

    def add_margin_call(self, pos: Position, mark: PriceTicks) -> None:
        """Index ``pos``'s margin call as the mark finds it (when it opens, and after a partial
        close): armed above its call price, called at or past it."""
        self.index_margin_call(pos.id, pos.long, self.call_price(pos), mark)

    def index_margin_call(
        self,
        ident: int,
        long: bool,  # noqa: FBT001
        level: PriceTicks,
        mark: PriceTicks,
    ) -> None:
        """Index position ``ident``'s margin call at ``level`` as ``mark`` finds it (a restore
        calls this straight from the image's columns)."""
        if long:
            if mark <= level:
                heappush(self.rearm_up, up_key(level + ONE_TICK, REARM, ident))
            else:
                heappush(self.call_down, down_key(level, MARGIN_CALL, ident))
        elif mark >= level:
            heappush(self.rearm_down, down_key(level - ONE_TICK, REARM, ident))
        else:
            heappush(self.call_up, up_key(level, MARGIN_CALL, ident))

    def add_rearm(self, pos: Position) -> None:
        """Index the recovery that re-arms ``pos``'s margin call, once it has been called."""
        level = self.call_price(pos)
        if pos.long:
            heappush(self.rearm_up, up_key(level + ONE_TICK, REARM, pos.id))
        else:
            heappush(self.rearm_down, down_key(level - ONE_TICK, REARM, pos.id))

    def rearm(self, mark: PriceTicks) -> None:
        """Re-arm the margin calls of the positions the mark has recovered past."""
        heap = self.rearm_up
        threshold = up_threshold(mark)
        while heap and heap[0] < threshold:
            key = heappop(heap)
            if self.is_live(key, down=False):
                level, _, ident = decode(key, down=False)
                heappush(self.call_down, down_key(level - ONE_TICK, MARGIN_CALL, ident))
        heap = self.rearm_down
        threshold = down_threshold(mark)
        while heap and heap[0] < threshold:
            key = heappop(heap)
            if self.is_live(key, down=True):
                level, _, ident = decode(key, down=True)
                heappush(self.call_up, up_key(level + ONE_TICK, MARGIN_CALL, ident))

    def margin_calls(self, before: PriceTicks, mark: PriceTicks) -> set[int]:
        """Pop the armed margin calls ``mark`` reached; the ids of the positions that were
        armed at ``before``, the mark of the quote before (and still hold the level)."""
        called: set[int] = set()
        heap = self.call_down
        threshold = down_threshold(mark)
        while heap and heap[0] < threshold:
            key = heappop(heap)
            level, _, ident = decode(key, down=True)
            if before > level and self.is_live(key, down=True):
                called.add(ident)
        heap = self.call_up
        threshold = up_threshold(mark)
        while heap and heap[0] < threshold:
            key = heappop(heap)
            level, _, ident = decode(key, down=False)
            if before < level and self.is_live(key, down=False):
                called.add(ident)
        return called

    def add_pending(self, order: PendingOrder) -> None:
        """Index a pending entry by the side of the quote it waits on, and its expiry."""
        price, ident = order.price, order.id
        if order.long:
            if order.order_type is LIMIT:
                heappush(self.ask_down, down_key(price, ENTRY, ident))
            else:
                heappush(self.ask_up, up_key(price, ENTRY, ident))
        elif order.order_type is LIMIT:
            heappush(self.bid_up, up_key(price, ENTRY, ident))
        else:
            heappush(self.bid_down, down_key(price, ENTRY, ident))
        if order.expires_at is not None:
            heappush(self.expiry, (order.expires_at << KIND_SHIFT) | ident)

    def forget(self, count: int = 1) -> None:
        """Note that ``count`` entries went stale; compact once about half of them are."""
        garbage = self.garbage = self.garbage + count
        if garbage >= self.compact_at:
            size = self._size()
            if garbage * 2 > size:
                self.compact()
            else:  # look again when the garbage could first be half the heaps
                self.compact_at = max(COMPACT_MIN_GARBAGE, size - garbage)

    # -- trailing stops ---------------------------------------------------------------------

    def arm_trailing(self, pos: Position, price: PriceTicks) -> None:
        """Arm ``pos``'s trailing stop with ``price`` as its peak (long) or trough (short).

        The price must be at or past every armed group's (true when arming at the current
        quote, and when restoring in order of peak), so the stack stays ordered.
        """
        stack = self.long_trail if pos.long else self.short_trail
        top = stack[-1] if stack else None
        if top is None or top.extreme != price:
            top = TrailGroup(self.next_gid, pos.long, price)
            self.next_gid += 1
            self.groups[top.gid] = top
            stack.append(top)
        distance = pos.trailing_distance
        assert distance is not None
        pos.trail_group = top
        heappush(top.keys, (distance << KIND_SHIFT) | pos.id)
        self._refresh_group(top)

    def disarm_trailing(self, pos: Position) -> None:
        """Detach a position from its trailing group (its heap key goes stale)."""
        if pos.trail_group is not None:
            pos.trail_group = None
            self.garbage += 1

    def _live_key(self, group: TrailGroup, key: int) -> Position | None:
        pos = self.positions.get(key & ID_MASK)
        if (
            pos is None
            or pos.trail_group is not group
            or pos.trailing_distance != key >> KIND_SHIFT
        ):
            return None
        return pos

    def _refresh_group(self, group: TrailGroup) -> None:
        """Drop stale keys from the top and (re)index the group at its current stop level."""
        keys = group.keys
        while keys and self._live_key(group, keys[0]) is None:
            heappop(keys)
        if not keys:
            group.entry_level = None
            return
        distance = PriceTicks(keys[0] >> KIND_SHIFT)
        if group.long:
            level = group.extreme - distance
            if level == group.entry_level:
                return
            heappush(self.bid_down, down_key(level, TRAILING, group.gid))
        else:
            level = group.extreme + distance
            if level == group.entry_level:
                return
            heappush(self.ask_up, up_key(level, TRAILING, group.gid))
        if group.entry_level is not None:
            self.garbage += 1
        group.entry_level = level

    def follow(self, bid: PriceTicks, ask: PriceTicks) -> None:
        """Move trailing peaks (troughs) to a new bid (ask), merging the groups it passes."""
        stack = self.long_trail
        if stack and stack[-1].extreme < bid:
            merged = []
            while stack and stack[-1].extreme < bid:
                merged.append(stack.pop())
            self._merge(stack, merged, bid)
        stack = self.short_trail
        if stack and stack[-1].extreme > ask:
            merged = []
            while stack and stack[-1].extreme > ask:
                merged.append(stack.pop())
            self._merge(stack, merged, ask)

    def _merge(self, stack: list[TrailGroup], merged: list[TrailGroup], price: PriceTicks) -> None:
        base = max(merged, key=lambda g: len(g.keys))
        for group in merged:
            if group is base:
                continue
            del self.groups[group.gid]
            if group.entry_level is not None:
                self.garbage += 1
            for key in group.keys:
                pos = self._live_key(group, key)
                if pos is not None:
                    pos.trail_group = base
                    heappush(base.keys, key)
        base.extreme = price
        stack.append(base)
        self._refresh_group(base)

    def fire_group(self, gid: int, level: PriceTicks, price: PriceTicks) -> list[int]:
        """Ids of the trailing stops of group ``gid`` that the price reached; re-index the rest."""
        group = self.groups.get(gid)
        if group is None or group.entry_level != level:
            return []
        group.entry_level = None
        fired = []
        reach = group.extreme - price if group.long else price - group.extreme
        keys = group.keys
        while keys and keys[0] >> KIND_SHIFT <= reach:
            key = heappop(keys)
            if self._live_key(group, key) is not None:
                fired.append(key & ID_MASK)
        self._refresh_group(group)
        return fired

    # -- housekeeping -----------------------------------------------------------------------

    def _size(self) -> int:
        return (
            len(self.bid_down)
            + len(self.bid_up)
            + len(self.ask_down)
            + len(self.ask_up)
            + len(self.mark_down)
            + len(self.mark_up)
            + len(self.expiry)
            + len(self.call_down)
            + len(self.call_up)
            + len(self.rearm_up)
            + len(self.rearm_down)
        )

    def is_live(self, key: int, down: bool) -> bool:  # noqa: FBT001
        """Whether a trigger key still stands for an order's current level."""
        level, kind, ident = decode(key, down)
        if kind == ENTRY:
            order = self.pending.get(ident)
            return order is not None and order.price == level
        if kind == TRAILING:
            group = self.groups.get(ident)
            return group is not None and group.entry_level == level
        pos = self.positions.get(ident)
        if pos is None:
            return False
        if kind == LIQUIDATION:
            return pos.liquidation_price == level
        if kind == MARGIN_CALL:
            return self.call_price(pos) == level
        if kind == REARM:
            return self.call_price(pos) == (level - 1 if pos.long else level + 1)
        if kind == STOP_LOSS:
            return pos.stop_loss == level
        return pos.take_profit == level

    def compact(self) -> None:
        """Rebuild every heap without its stale entries."""
        for name, down in (
            ("bid_down", True),
            ("bid_up", False),
            ("ask_down", True),
            ("ask_up", False),
            ("mark_down", True),
            ("mark_up", False),
            ("call_down", True),
            ("call_up", False),
            ("rearm_up", False),
            ("rearm_down", True),
        ):
            is_live = self.is_live
            heap = [k for k in getattr(self, name) if is_live(k, down)]
            if name in DEDUPED:  # a follower may hold a call entry twice (see the docstring)
                heap = sorted(set(heap))
            heapify(heap)
            setattr(self, name, heap)
        pending = self.pending
        expiry = [
            k
            for k in self.expiry
            if (o := pending.get(k & ID_MASK)) is not None and o.expires_at == k >> KIND_SHIFT
        ]
        heapify(expiry)
        self.expiry = expiry
        for group in self.groups.values():
            group.keys = [k for k in group.keys if self._live_key(group, k) is not None]
            heapify(group.keys)
        self.garbage = 0
        self.compact_at = max(COMPACT_MIN_GARBAGE, self._size())
