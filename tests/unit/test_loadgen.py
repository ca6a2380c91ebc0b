"""The load generator's invalid records are invalid for the stream they are written to."""

import pytest

from tools import loadgen
from udfs.events import ACTIVITY, CLICKS, PROFILES, PURCHASES, InvalidRecord

SCHEMAS = {"activity": ACTIVITY, "clicks": CLICKS, "purchases": PURCHASES, "profiles": PROFILES}


@pytest.mark.parametrize("stream", loadgen.STREAMS)
def test_every_invalid_record_is_rejected_by_its_streams_schema(stream):
    schema = SCHEMAS[stream]
    records = list(loadgen.generate(stream, 2_000, seed=4, invalid_fraction=0.2))
    rejected = 0
    for record in records:
        try:
            schema.parse(record)
        except InvalidRecord:
            rejected += 1
    invalid = sum(1 for record in records if record in loadgen.invalid_for(stream))
    assert rejected == invalid > 300  # about 20 %: every one of them, and nothing else


@pytest.mark.parametrize("count", [1, 10, 2_000])
def test_the_generator_writes_exactly_count_records(count):
    assert len(list(loadgen.generate("activity", count, seed=3, late_fraction=0.1))) == count
