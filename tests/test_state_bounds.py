"""State that expires stays bounded on an endless key space (docs/state.md, "How long a key's
state lives").

New users never stop coming: a job that kept anything of every user it ever saw would grow until
its TaskManager failed. ``sessions`` and ``inactivity_timeouts`` free a user's state on an
event-time timer once the watermark passes the user's last event + the gap (timeout). Here a
running job reads two batches of new users from Kafka, one event each, a second apart in event
time, and the test reads the size of a checkpoint taken once each batch was read (on the heap a
checkpoint is a full copy of the state). With the jobs' 5 min only the users of the last 5 min hold
state, so the second checkpoint is the size of the first however many users passed; with a day,
every user is still open and the second checkpoint holds twice the users, which shows the
checkpoint sees the state.
"""

import json
import uuid

import pytest

from tests.unbounded import checkpoints_later, job_metric, start_unbounded, stop, wait
from tools.kafka_broker import append, committed_offsets, end_offsets, free_port, produce
from udfs.timeutil import format_time, parse_event_time

pytestmark = pytest.mark.ops

USERS_PER_BATCH = 2_000
T0 = parse_event_time("2026-11-24T10:00:00Z")
#: How long each job keeps a user open after their last event.
LIFETIME_OPTION = {"sessions": "--gap", "inactivity_timeouts": "--timeout"}


def new_users(batch: int) -> list[str]:
    """``USERS_PER_BATCH`` users never seen before, one event each, one second apart, continuing
    the event time of the batches before."""
    first = batch * USERS_PER_BATCH
    return [
        json.dumps({"user_id": f"user-{i:06d}", "action": "view", "timestamp": format_time(T0 + i * 1000)})
        for i in range(first, first + USERS_PER_BATCH)
    ]


def state_after_reading(bootstrap: str, topic: str, group: str, port: int, job) -> int:
    """The full size of a checkpoint that holds the state after every record of ``topic`` so far.

    A checkpoint commits the offsets its barrier followed: once the committed offset is the end,
    a completed checkpoint has every record, and the watermark after it, in its state. No record
    arrives after it, so any later checkpoint holds the same state."""
    end = end_offsets(bootstrap, topic)[0]
    wait(lambda: committed_offsets(bootstrap, group, topic).get(0) == end, job, 180, "the batch was not read")
    checkpoints_later(port, job, 1)
    size = job_metric(port, "lastCheckpointFullSize")
    assert size, "no checkpoint size reported"
    return int(size)


@pytest.mark.parametrize("lifetime", ["5min", "1d"])
@pytest.mark.parametrize("job_name", sorted(LIFETIME_OPTION))
def test_state_stops_growing_when_it_expires(kafka_bootstrap, job_name, lifetime):
    topic, group, port = f"new-users-{uuid.uuid4().hex[:8]}", f"bounds-{uuid.uuid4().hex[:8]}", free_port()
    produce(kafka_bootstrap, topic, new_users(0))
    options = [LIFETIME_OPTION[job_name], lifetime, "--state-backend", "hashmap", "--metrics-port", str(port)]
    job = start_unbounded(job_name, kafka_bootstrap, topic, group, *options)
    try:
        first = state_after_reading(kafka_bootstrap, topic, group, port, job)
        append(kafka_bootstrap, topic, new_users(1))
        second = state_after_reading(kafka_bootstrap, topic, group, port, job)
    finally:
        stop(job)

    if lifetime == "5min":
        # The same 300 users (5 min of them) are open after either batch: the same state.
        assert second <= first * 1.05, f"state grew from {first} to {second} bytes with users that expire"
    else:
        # Every user is open: 2,000 more users' state in the second checkpoint.
        assert second >= first * 1.8, f"state {first} -> {second} bytes: the checkpoint does not see the users"
