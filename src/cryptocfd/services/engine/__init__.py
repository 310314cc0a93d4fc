"""``cryptocfd engine``: the pure engine joined to Redis Streams and the snapshot store.

One module per job: ``groups`` (the consumer groups), ``recovery`` (the newest snapshot and the
records after it), ``batch`` (one batch of inputs applied and written in one MULTI/EXEC),
``snapshotting`` (when to snapshot, the forked writer, trimming behind it), ``durability``
(refusing a Redis that would lose orders), and ``service``, which runs them in order.
"""
