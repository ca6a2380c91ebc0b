"""The unit layer: functions and Flink function classes called directly, without a JVM."""

import pyflink.java_gateway
import pytest


@pytest.fixture(autouse=True)
def no_jvm():
    """A unit test that starts PyFlink's gateway JVM belongs to the pipeline layer."""
    yield
    assert pyflink.java_gateway._gateway is None, "this test started a JVM: it is not a unit test"
