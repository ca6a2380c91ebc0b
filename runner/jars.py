"""Where the JVM jars are (declared in pom.xml, fetched by Maven into jars/)."""

from __future__ import annotations

import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
JARS = PROJECT_ROOT / "jars"
#: Flink plugins (one folder per plugin, each with its own class loader): FLINK_PLUGINS_DIR.
PLUGINS = JARS / "plugins"


def _fetch() -> None:
    subprocess.run(["mvn", "-q", "-B", "-f", str(PROJECT_ROOT / "pom.xml"), "package", "-DskipTests"], check=True)


def connector_jars() -> list[Path]:
    """The Kafka connector's uber-jar: a local Kafka run's ``pipeline.jars``, a cluster's lib/
    (fetched by Maven on first use)."""
    return _built("flink-sql-connector-kafka-*.jar")


def functions_jar() -> Path:
    """The jobs' JVM functions (jvm/, udfs/jvm.py): every local run's ``pipeline.jars``, a
    cluster's lib/."""
    return _built("pyflink-jobs-functions.jar")[0]


def _built(pattern: str) -> list[Path]:
    found = sorted((JARS / "flink").glob(pattern))
    if not found:
        _fetch()
        found = sorted((JARS / "flink").glob(pattern))
    if not found:
        raise FileNotFoundError(f"no {pattern} under {JARS / 'flink'}: run scripts/setup")
    return found


def prometheus_reporter_jars() -> list[Path]:
    """Flink's Prometheus reporter and the class that binds it to one address (pom.xml, jvm/)."""
    folder = PLUGINS / "metrics-prometheus"
    if not (folder / "bound-prometheus-reporter.jar").exists():
        _fetch()
    return sorted(folder.glob("*.jar"))


def kafka_broker_classpath() -> str:
    """The classpath of the local Kafka broker (tools/kafka_broker.py, scripts/kafka)."""
    if not (JARS / "kafka").is_dir():
        _fetch()
    return ":".join(str(p) for p in sorted((JARS / "kafka").glob("*.jar")))


#: What the ZooKeeper server takes from jars/kafka rather than a second copy (pom.xml): SLF4J 2 and
#: its log4j2 binding, and snappy-java, which ZooKeeper declares "provided" but links against when it
#: names a snapshot.
_ZOOKEEPER_FROM_KAFKA = (
    "slf4j-api-*.jar",
    "log4j-api-*.jar",
    "log4j-core-*.jar",
    "log4j-slf4j2-impl-*.jar",
    "snappy-java-*.jar",
)


def zookeeper_classpath() -> str:
    """The classpath of the local ZooKeeper server (tools/zookeeper.py): jars/zookeeper and, from
    jars/kafka, its logging and snappy-java."""
    if not (JARS / "zookeeper").is_dir():
        _fetch()
    jars = sorted((JARS / "zookeeper").glob("*.jar"))
    for pattern in _ZOOKEEPER_FROM_KAFKA:
        found = sorted((JARS / "kafka").glob(pattern))
        if not found:
            raise FileNotFoundError(f"no {pattern} under {JARS / 'kafka'}: run scripts/setup")
        jars.extend(found)
    return ":".join(str(p) for p in jars)
