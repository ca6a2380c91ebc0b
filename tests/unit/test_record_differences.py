"""The exactly-once checks' failure message (tests/harness.py): counted, with a few examples, never
a diff of every record."""

from tests.harness import record_differences

EXPECTED = {"sessions": [{"id": i} for i in range(1000)], "errors": [{"raw": "x"}]}


def test_equal_outputs_in_any_order_have_no_differences():
    shuffled = {"sessions": list(reversed(EXPECTED["sessions"])), "errors": [{"raw": "x"}]}
    assert record_differences(shuffled, EXPECTED) == []


def test_lost_duplicated_and_unexpected_records_are_counted_per_output():
    actual = {
        "sessions": [*EXPECTED["sessions"][2:], {"id": 5}, {"id": 5}, {"id": 7}],
        "errors": [{"raw": "x"}, {"raw": "y"}],
    }
    assert record_differences(actual, EXPECTED, shown=2) == [
        'errors: 1 of 1 records unexpected, e.g. {"raw": "y"}',
        'sessions: 2 of 1000 records lost, e.g. {"id": 0}; {"id": 1}',
        'sessions: 3 of 1000 records duplicated, e.g. {"id": 5}; {"id": 5}',
    ]


def test_a_missing_output_is_all_lost():
    assert record_differences({"sessions": EXPECTED["sessions"]}, EXPECTED) == [
        'errors: 1 of 1 records lost, e.g. {"raw": "x"}'
    ]
