"""The unit layer: functions and Flink function classes called directly, without a JVM."""

import pyflink.java_gateway
import pytest


@pytest.fixture(autouse=True)
def no_jvm():
    """A unit test that starts PyFlink's gateway JVM belongs to the pipeline layer. (In a run of
    every layer, an earlier pipeline test may have started it already: nothing to check then.)"""
    started_before = pyflink.java_gateway._gateway is not None
    yield
    if not started_before:
        assert pyflink.java_gateway._gateway is None, "this test started a JVM: it is not a unit test"
