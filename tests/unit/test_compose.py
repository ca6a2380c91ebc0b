"""docker-compose.yml and docker/Dockerfile cannot run here (no Docker engine), so this proves what
can be proved: the file is valid compose YAML (``docker compose config`` when the CLI has the
compose plugin, a structural check always), it uses the versions the project pins (pyproject.toml,
uv.lock, pom.xml), and the commands it runs name real files and options the jobs accept."""

import json
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from jobs import sessions
from runner.cli import parse
from tools import loadgen
from tools.kafka_broker import BROKER_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()


def pinned_flink_version() -> str:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(d.split("==")[1] for d in deps if d.startswith("apache-flink=="))


def locked_version(package: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return next(p["version"] for p in lock["package"] if p["name"] == package)


def pom_properties() -> dict[str, str]:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    props = ET.parse(ROOT / "pom.xml").getroot().find("m:properties", ns)
    assert props is not None
    values = {child.tag.split("}")[1]: child.text or "" for child in props}
    return {k: re.sub(r"\$\{([^}]+)\}", lambda m: values.get(m.group(1), m.group(0)), v) for k, v in values.items()}


def dockerfile_arg(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE, re.M)
    assert match, f"no ARG {name} in docker/Dockerfile"
    return match.group(1)


def test_docker_compose_config_accepts_the_file():
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("no `docker compose` plugin here; test_compose_structure checks the file instead")
    result = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "--profile", "tools", "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_compose_structure():
    assert set(SERVICES) == {"kafka", "jobmanager", "taskmanager", "prometheus", "grafana", "loadgen", "submit"}
    for name, service in SERVICES.items():
        assert "image" in service or "build" in service, name
        depends = service.get("depends_on", [])
        assert set(depends) <= set(SERVICES), name
        for port in service.get("ports", []):
            assert re.fullmatch(r"127\.0\.0\.1:\d+:\d+", port), port  # loopback only: REST runs code
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):  # a bind mount of the checkout's own files
                assert (ROOT / source).exists(), volume
            else:
                assert source in COMPOSE.get("volumes", {}), volume
    assert SERVICES["jobmanager"]["command"] == "jobmanager"
    assert SERVICES["taskmanager"]["command"] == "taskmanager"
    # The build context has what the Dockerfile copies.
    build = SERVICES["jobmanager"]["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    for source in re.findall(r"^COPY (?!--from)(\S+(?: \S+)*) \S+$", DOCKERFILE, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), path


def test_the_image_has_the_jobs_jvm_functions_in_lib():
    # The jar scripts/setup builds for local runs (runner/jars.py: functions_jar), built by the
    # same pom.xml execution in the image's first stage and copied into Flink's lib/.
    from runner.jars import functions_jar

    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    executions = ET.parse(ROOT / "pom.xml").getroot().iterfind(".//m:execution", ns)
    functions = next(e for e in executions if e.findtext("m:id", namespaces=ns) == "functions")
    config = functions.find("m:configuration", ns)
    assert config is not None
    built = f"{config.findtext('m:finalName', namespaces=ns)}-{config.findtext('m:classifier', namespaces=ns)}.jar"
    assert built == functions_jar().name
    assert "RUN mvn --quiet --batch-mode compile jar:jar@functions" in DOCKERFILE
    assert f"COPY --from=functions /build/jars/flink/{built} /opt/flink/lib/" in DOCKERFILE


def test_versions_match_the_project_pins():
    flink = pinned_flink_version()
    pom = pom_properties()
    assert locked_version("apache-flink") == flink
    args = SERVICES["jobmanager"]["build"]["args"]
    assert args["FLINK_VERSION"] == dockerfile_arg("FLINK_VERSION") == flink
    assert (
        args["KAFKA_CONNECTOR_VERSION"] == dockerfile_arg("KAFKA_CONNECTOR_VERSION") == pom["kafka.connector.version"]
    )
    assert pom["kafka.connector.version"].endswith("-" + ".".join(flink.split(".")[:2]))
    assert pom["flink.version"] == flink  # the Prometheus reporter the jvm/ class extends
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{pom['kafka.version']}"
    flink_services = {n: s for n, s in SERVICES.items() if n not in ("kafka", "prometheus", "grafana")}
    assert all(s.get("image") == SERVICES["jobmanager"]["image"] for s in flink_services.values())
    assert SERVICES["jobmanager"]["image"].endswith(":" + flink)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f">={args['PYTHON_VERSION']}" in requires


def test_kafka_is_single_node_kraft_with_transactions():
    env = SERVICES["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == 1
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == 1
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1


def test_kafka_states_the_local_brokers_retention_and_timestamp_settings():
    """Retention and timestamp limits are the local broker's (tools/kafka_broker.py), stated, not
    Kafka's date-dependent defaults."""
    env = SERVICES["kafka"]["environment"]
    stated = {key.removeprefix("KAFKA_").lower().replace("_", "."): str(value) for key, value in env.items()}
    for key, value in BROKER_SETTINGS.items():
        assert stated.get(key) == value, key


def test_submit_and_loadgen_commands_are_valid():
    command = SERVICES["submit"]["command"]
    assert command[:2] == ["flink", "run"]
    script = command[command.index("-py") + 1]
    assert script.startswith("/opt/pyflink-jobs/") and (ROOT / script.removeprefix("/opt/pyflink-jobs/")).is_file()
    assert command[command.index("--pyFiles") + 1] in DOCKERFILE  # the zip the image builds
    assert command[command.index("--pyFiles") + 2] == "--"  # the rest is the job's, not flink run's
    job_args = command[command.index("--pyFiles") + 3 :]
    config = parse(sessions.JOB, job_args)  # the job's own parser accepts them
    assert config.source.kind == config.sink.kind == "kafka" and config.sink.delivery_guarantee == "exactly-once"
    assert config.execution.mode is None  # the cluster's: thread, with flink-python in lib/
    assert "cp /opt/flink/opt/flink-python-*.jar /opt/flink/lib/" in DOCKERFILE
    generator = loadgen.options(SERVICES["loadgen"]["command"])
    assert generator.streams == ["activity"] and generator.bootstrap_servers == config.source.bootstrap_servers


def mounted(service: str, container_path: str) -> Path:
    """The checkout's folder or file a service sees at ``container_path``."""
    for volume in SERVICES[service]["volumes"]:
        source, target = volume.split(":")[:2]
        if container_path == target or container_path.startswith(target + "/"):
            return ROOT / source / container_path.removeprefix(target).lstrip("/")
    raise AssertionError(f"{service} mounts nothing at {container_path}")


def flink_properties(service: str) -> dict:
    return yaml.safe_load(SERVICES[service]["environment"]["FLINK_PROPERTIES"])


def test_prometheus_scrapes_the_reporter_of_every_flink_container():
    config_path = mounted("prometheus", "/etc/prometheus/prometheus.yml")
    config = yaml.safe_load(config_path.read_text())
    targets = {t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    for service in ("jobmanager", "taskmanager"):
        properties = flink_properties(service)
        # Inside the compose network: Flink's own reporter (all interfaces of the container);
        # nothing publishes its port to the host.
        assert properties["metrics.reporter.prom.factory.class"].startswith("org.apache.flink.metrics.prometheus.")
        assert f"{service}:{properties['metrics.reporter.prom.port']}" in targets
        assert not any(str(properties["metrics.reporter.prom.port"]) in p for p in SERVICES[service].get("ports", []))
    promtool = shutil.which("promtool")
    if promtool:  # Prometheus's own check of the file (scripts/setup installs it as root)
        result = subprocess.run([promtool, "check", "config", str(config_path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_provisions_the_prometheus_data_source_and_the_dashboard():
    provisioning = mounted("grafana", "/etc/grafana/provisioning")
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert [(s["type"], s["url"]) for s in sources] == [("prometheus", "http://prometheus:9090")]
    providers = yaml.safe_load((provisioning / "dashboards" / "dashboards.yml").read_text())["providers"]
    folder = mounted("grafana", providers[0]["options"]["path"])
    dashboards = sorted(folder.glob("*.json"))
    assert [d.name for d in dashboards] == ["pyflink-jobs.json"]
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert mounted("grafana", home) == dashboards[0]
    dashboard = json.loads(dashboards[0].read_text())
    titles = [panel["title"] for panel in dashboard["panels"]]
    for wanted in (
        "Watermark lag",
        "Records per output",
        "Late records",
        "Errors",
        "Checkpoint duration",
        "Checkpoint size",
        "Kafka consumer lag",
    ):
        assert any(t.startswith(wanted) for t in titles), wanted
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            # Every query reads the provisioned source; tests/test_metrics.py runs each against a live job.
            assert target["datasource"]["uid"] == sources[0]["uid"], panel["title"]
            assert re.search(r"\bflink_\w+", target["expr"]), panel["title"]
