"""deploy/kubernetes/ cannot be applied here (no cluster, no Docker engine), so this proves what can be
proved, without a JVM: each manifest is a FlinkDeployment the operator's own CRD accepts (jars/k8s,
unpacked by pom.xml from flink-kubernetes-operator-api 1.10.0), checked as the API server does under
kubectl's strict field validation (a field the schema does not name is an error, not silently
dropped), and it keeps what the docs promise: the job it runs exists, every option it passes is one
the job accepts, savepoint upgrades, high availability, the operator's own admission rules, the
project's Flink settings (flink-conf/config.yaml), and an image that holds the code."""

from __future__ import annotations

import copy
import importlib
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from runner.cli import parse, parser_for
from tools.package import PACKAGES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "kubernetes"
CRD = ROOT / "jars" / "k8s" / "flinkdeployments.flink.apache.org-v1.yml"
MANIFESTS = sorted(p.name for p in DEPLOY.glob("*.yaml"))
#: Where the image keeps the project's packages (deploy/kubernetes/Dockerfile); -pyfs puts it on the path.
USRLIB = "/opt/flink/usrlib"
#: Flink's PythonDriver reads these options (each with a value) before the program's own arguments.
PYTHON_DRIVER_OPTIONS = {"-py", "-pym", "-pyfs", "-pyarch", "-pyreq", "-pyexec", "-pyclientexec", "-pypath"}
#: The operator's DefaultValidator: a FlinkDeployment's name, and keys it sets itself.
OPERATOR_NAME = re.compile(r"[a-z]([-a-z\d]{0,43}[a-z\d])?")
FORBIDDEN_KEYS = {"kubernetes.namespace", "kubernetes.cluster-id", "high-availability.cluster-id"}
#: flink-conf/config.yaml's settings the jobs rely on on any cluster (docs/operations.md,
#: docs/kafka-and-cluster.md): every manifest sets each to the same value.
PROJECT_SETTINGS = (
    "python.execution-mode",
    "classloader.parent-first-patterns.additional",
    "env.java.opts.all",
    "execution.checkpointing.num-retained",
    "execution.checkpointing.tolerable-failed-checkpoints",
    "execution.checkpointing.timeout",
    "restart-strategy.type",
    "restart-strategy.exponential-delay.initial-backoff",
    "restart-strategy.exponential-delay.backoff-multiplier",
    "restart-strategy.exponential-delay.max-backoff",
    "restart-strategy.exponential-delay.reset-backoff-threshold",
    "restart-strategy.exponential-delay.attempts-before-reset-backoff",
)


def test_both_jobs_have_a_manifest():
    assert {"sessions.yaml", "window_join.yaml"} <= set(MANIFESTS)


# --- the operator's CRD ----------------------------------------------------------------------


@cache
def crd() -> dict[str, Any]:
    if not CRD.is_file():
        pytest.fail(
            f"{CRD.relative_to(ROOT)} is missing: scripts/setup unpacks the operator's CRDs there "
            "(mvn -q -f pom.xml package, execution k8s-operator-crds)",
            pytrace=False,
        )
    return yaml.load(CRD.read_text(), Loader=yaml.CSafeLoader)


@cache
def validator(api_version: str) -> jsonschema.Draft4Validator:
    """The openAPIV3Schema of the CRD version ``api_version`` names, closed as strict field
    validation closes it, with the fields every object has (apiVersion, kind, metadata)."""
    group, _, version = api_version.partition("/")
    definition = crd()
    assert definition["spec"]["group"] == group, f"the CRD defines group {definition['spec']['group']}"
    served = {v["name"]: v for v in definition["spec"]["versions"] if v["served"]}
    assert version in served, f"{api_version}: the CRD serves {sorted(served)}"
    schema = closed(served[version]["schema"]["openAPIV3Schema"])
    schema["properties"] |= {
        "apiVersion": {"type": "string", "enum": [api_version]},
        "kind": {"type": "string", "enum": [definition["spec"]["names"]["kind"]]},
        "metadata": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
    }
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    return jsonschema.Draft4Validator(schema)  # OpenAPI 3.0's schema objects are draft 4's keywords


def closed(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every object that lists its properties refusing any other (the CRD leaves
    them open: the API server prunes an unknown field, and strict validation refuses it)."""
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {name: closed(s) for name, s in out["properties"].items()}
        if "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = closed(out[key])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in out:
            out[key] = [closed(s) for s in out[key]]
    return out


def schema_errors(document: dict[str, Any]) -> list[str]:
    found = validator(str(document.get("apiVersion")).strip()).iter_errors(document)
    return sorted(f"{'.'.join(map(str, e.absolute_path)) or '(document)'}: {e.message}" for e in found)


# --- the manifests ---------------------------------------------------------------------------


@cache
def manifest(name: str) -> dict[str, Any]:
    documents = [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d is not None]
    assert len(documents) == 1, f"{name}: one FlinkDeployment per file, found {len(documents)} documents"
    return documents[0]


def flink_conf(name: str) -> dict[str, str]:
    return manifest(name)["spec"].get("flinkConfiguration") or {}


def split_args(args: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """job.args -> PythonDriver's options (each with its values) and the program's arguments:
    Flink's Python options come first, the first other argument starts the program's."""
    driver: dict[str, list[str]] = {}
    index = 0
    while index < len(args) and args[index] in PYTHON_DRIVER_OPTIONS:
        driver.setdefault(args[index], []).append(args[index + 1])
        index += 2
    return driver, args[index:]


def job_of(name: str):
    """The job the manifest runs: its -py file under USRLIB is the repository's jobs/<job>.py."""
    driver, _ = split_args(manifest(name)["spec"]["job"]["args"])
    assert list(driver.get("-py", [])), f"{name}: job.args has no -py file"
    script = driver["-py"][0]
    assert script.startswith(f"{USRLIB}/"), f"{name}: -py {script} is not under {USRLIB} (the image's code)"
    relative = Path(script.removeprefix(f"{USRLIB}/"))
    assert (ROOT / relative).is_file(), f"{name}: -py {script} names {relative}, which is not in the repository"
    assert relative.parent == Path("jobs"), f"{name}: -py {script} is not a job of jobs/"
    return importlib.import_module(f"jobs.{relative.stem}").JOB


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_is_a_flink_deployment_the_operator_crd_accepts(name):
    document = manifest(name)
    assert (document.get("apiVersion"), document.get("kind")) == ("flink.apache.org/v1beta1", "FlinkDeployment")
    assert schema_errors(document) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda s: s["job"].update(upgradMode="savepoint"), "job: Additional properties are not allowed"),
        (lambda s: s["job"].update(upgradeMode="last_state"), "job.upgradeMode: 'last_state' is not one of"),
        (lambda s: s.update(flinkVersion="v2_2"), "flinkVersion: 'v2_2' is not one of"),
        (lambda s: s["flinkConfiguration"].update({"taskmanager.numberOfTaskSlots": 2}), "is not of type 'string'"),
        (lambda s: s["jobManager"].update(resources={"memory": "2048m"}), "jobManager: Additional properties"),
    ],
    ids=["misspelt-field", "unknown-enum-value", "flink-version-1.10.0-does-not-know", "number-in-conf", "resources"],
)
def test_the_validation_refuses_a_wrong_field(change, expected):
    """The check itself: a misspelt field, a value outside an enum, a number where the CRD wants a
    string each make a manifest fail (sessions.yaml, changed in memory)."""
    document = copy.deepcopy(manifest("sessions.yaml"))
    change(document["spec"])
    errors = schema_errors(document)
    assert any(expected in error for error in errors), errors


@pytest.mark.parametrize("name", MANIFESTS)
def test_flink_version_is_the_highest_the_crd_lists_and_the_header_says_what_to_change(name):
    spec_schema = validator(manifest(name)["apiVersion"]).schema["properties"]["spec"]["properties"]
    versions = spec_schema["flinkVersion"]["enum"]
    newest = max(versions, key=lambda v: tuple(int(n) for n in v.removeprefix("v").split("_")))
    assert manifest(name)["spec"]["flinkVersion"] == newest
    flink = pinned_flink_version()
    target = "v" + "_".join(flink.split(".")[:2])
    if target not in versions:  # the operator the CRD comes from predates the project's Flink
        assert f"flinkVersion: {target}" in (DEPLOY / name).read_text(), f"{name}: the header must say to use {target}"


@pytest.mark.parametrize("name", MANIFESTS)
def test_job_runs_the_python_driver_on_the_image_code(name):
    job_spec = manifest(name)["spec"]["job"]
    assert job_spec["entryClass"] == "org.apache.flink.client.python.PythonDriver"
    assert job_spec["jarURI"] == f"local:///opt/flink/opt/flink-python-{pinned_flink_version()}.jar"
    driver, _ = split_args(job_spec["args"])
    assert driver.get("-pyfs") == [USRLIB], f"{name}: -pyfs {USRLIB} puts the project's packages on the path"
    assert job_of(name).name == Path(driver["-py"][0]).stem


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_job_option_is_one_the_job_accepts(name):
    job = job_of(name)
    _, program = split_args(manifest(name)["spec"]["job"]["args"])
    flags = {flag for action in parser_for(job)._actions for flag in action.option_strings}
    options = [arg.partition("=")[0] for arg in program if arg.startswith("--")]
    assert [o for o in options if o not in flags] == [], f"{name}: options jobs.{job.name} does not have"
    assert all(isinstance(arg, str) for arg in program)
    config = parse(job, program)  # values too: the job's own checks, as at submission
    assert (config.source.kind, config.sink.kind) == ("kafka", "kafka")
    assert config.execution.checkpoint_interval_ms, "Kafka sinks commit on checkpoints: --checkpoint-interval"
    spec = manifest(name)["spec"]
    if flink_conf(name).get("scheduler-mode") != "reactive" and "parallelism" in spec["job"]:
        # The job sets its own parallelism (--parallelism, default 1): the operator's must match it.
        assert config.execution.parallelism == spec["job"]["parallelism"]


@pytest.mark.parametrize("name", MANIFESTS)
def test_savepoint_upgrades_and_high_availability(name):
    spec = manifest(name)["spec"]
    conf = flink_conf(name)
    assert (spec["job"].get("upgradeMode"), spec["job"].get("state")) == ("savepoint", "running")
    assert conf.get("high-availability.type") == "kubernetes"
    # The operator refuses savepoint upgrades without both directories; all of them must outlive
    # a pod: a file:// path must be on a volume from a PersistentVolumeClaim.
    shared = shared_mounts(spec)
    for key in ("high-availability.storageDir", "execution.checkpointing.dir", "execution.checkpointing.savepoint-dir"):
        path = conf.get(key, "")
        assert path, f"{name}: {key} is not set"
        if path.startswith("file:"):
            local = path.removeprefix("file://")
            assert any(local.startswith(mount + "/") for mount in shared), (
                f"{name}: {key} {path} is on no shared volume"
            )


def shared_mounts(spec: dict[str, Any]) -> list[str]:
    pod = (spec.get("podTemplate") or {}).get("spec") or {}
    claims = {v["name"] for v in pod.get("volumes", []) if "persistentVolumeClaim" in v}
    main = [c for c in pod.get("containers", []) if c.get("name") == "flink-main-container"]
    return [m["mountPath"].rstrip("/") for c in main for m in c.get("volumeMounts", []) if m["name"] in claims]


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_operator_admission_rules(name):
    """What the operator's validator refuses and the CRD cannot say."""
    spec = manifest(name)["spec"]
    conf = flink_conf(name)
    assert OPERATOR_NAME.fullmatch(manifest(name)["metadata"]["name"]), "lower case, digits and '-', at most 45"
    assert not FORBIDDEN_KEYS & set(conf), "the operator sets these itself"
    assert spec.get("serviceAccount")
    for component in ("jobManager", "taskManager"):
        assert spec[component]["resource"]["memory"], f"{component}.resource.memory"
    if spec["jobManager"].get("replicas", 1) > 1:
        assert conf.get("high-availability.type"), "standby JobManagers need HA"
    if conf.get("scheduler-mode") == "reactive":  # the operator rescales a TaskManager Deployment
        assert spec.get("mode") == "standalone", "reactive mode needs mode: standalone"
        assert spec["taskManager"].get("replicas", 0) >= 1


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_project_flink_settings(name):
    conf = flink_conf(name)
    project = {
        key: conf_string(value) for key, value in yaml.safe_load((ROOT / "flink-conf/config.yaml").read_text()).items()
    }
    assert {key: conf.get(key) for key in PROJECT_SETTINGS} == {key: project[key] for key in PROJECT_SETTINGS}
    # The runner takes `flink run --detached`'s path (no count folder on the JobManager's disk).
    assert conf.get("execution.attached") == "false"
    assert conf.get("metrics.reporters") == "prom"
    assert conf.get("metrics.reporter.prom.factory.class", "").startswith("org.apache.flink.metrics.prometheus.")


def conf_string(value: Any) -> str:
    """A config.yaml value as the string a FlinkDeployment's flinkConfiguration holds."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def pinned_flink_version() -> str:
    return pinned_versions()["apache-flink"]


def pinned_versions() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(d.split("==") for d in deps if "==" in d)


def test_the_image_has_the_pinned_versions_and_the_code():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(rf"^FROM flink:{re.escape(pinned_flink_version())}\b", dockerfile, re.M)
    for package, version in pinned_versions().items():
        assert f"{package}=={version}" in dockerfile
    for package in PACKAGES:  # what tools/package.py ships with a job: on the path through -pyfs
        assert re.search(rf"^COPY .*\b{package} {USRLIB}/{package}$", dockerfile, re.M), package
    assert re.search(r"^COPY jars/flink/\*\.jar /opt/flink/lib/$", dockerfile, re.M)
    images = {manifest(name)["spec"]["image"] for name in MANIFESTS}
    assert all(f"-t {image} " in dockerfile for image in images), "the manifests' image is the one it builds"
