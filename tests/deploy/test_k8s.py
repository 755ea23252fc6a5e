"""The Kubernetes and KServe manifests under deploy/k8s, checked offline.

Every resource is validated with kubernetes-validate --strict against a pinned Kubernetes
version. The KServe InferenceService is a custom resource kubernetes-validate has no schema
for: its pod-level fields (containers, volumes, security context) are validated as the Pod they
become, and its other predictor fields against the names and types of KServe's v1beta1
ComponentExtensionSpec; with KSERVE_CRD naming KServe's CRD file
(config/crd/full/serving.kserve.io_inferenceservices.yaml), the whole resource is also validated
against the CRD's schema. Then the manifests are checked against the service itself: probe
paths are its routes, ports and variables its settings, the grace period covers the drain.
"""

import copy
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from service.api.auth import KeyRing, matches
from service.main import create_app
from service.monitoring.metrics import Metrics
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
# Variables the manifests set that are not service settings.
OTHER_VARIABLES = {"HOME", "TMPDIR", "PROTOCOL", "STORAGE_URI"}
# Predictor fields of KServe's v1beta1 ComponentExtensionSpec and CustomPredictor used here.
KSERVE_EXTENSIONS: dict[str, type] = {
    "minReplicas": int,
    "maxReplicas": int,
    "scaleMetric": str,
    "scaleTarget": int,
    "timeout": int,
    "containerConcurrency": int,
    "canaryTrafficPercent": int,
}
PEAK_RSS_MIB = 1300  # the full models' service under load, measured (README, docs/benchmarks.md)


def render(kustomization: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize`, or without kubectl the resources the kustomization lists."""
    if shutil.which("kubectl"):
        out = subprocess.run(
            ["kubectl", "kustomize", str(kustomization)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]
    spec = yaml.safe_load((kustomization / "kustomization.yaml").read_text())
    return [
        doc
        for name in spec["resources"]
        for doc in yaml.safe_load_all((kustomization / name).read_text())
        if doc
    ]


BASE = render(K8S / "base")
KSERVE = render(K8S / "kserve")
OPTIONS = [yaml.safe_load(path.read_text()) for path in sorted((K8S / "options").glob("*.yaml"))]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind]
    return doc


def as_pod(predictor: dict[str, Any]) -> dict[str, Any]:
    """The Pod a predictor's pod-level fields become."""
    spec = {k: v for k, v in predictor.items() if k not in KSERVE_EXTENSIONS}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "predictor"}, "spec": spec}


@pytest.mark.parametrize(
    "doc", BASE + OPTIONS, ids=lambda d: f"{d['kind']}/{d['metadata']['name']}"
)
def test_manifest_valid_strict(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_manifest_strict_validation_rejects_unknown_field() -> None:
    deployment = copy.deepcopy(by_kind(BASE, "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["path"] = "/ready"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_inferenceservice_pod_fields_valid_strict() -> None:
    isvc = by_kind(KSERVE, "InferenceService")
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    predictor = isvc["spec"]["predictor"]
    kubernetes_validate.validate(as_pod(predictor), KUBERNETES_VERSION, strict=True)
    for name, kind in KSERVE_EXTENSIONS.items():
        if name in predictor:
            assert isinstance(predictor[name], kind), name
    assert predictor.get("scaleMetric", "cpu") in {"cpu", "memory", "concurrency", "rps"}
    assert set(isvc["spec"]) == {"predictor"}


def test_inferenceservice_valid_against_crd() -> None:
    crd_path = os.environ.get("KSERVE_CRD")
    if not crd_path:
        pytest.skip("KSERVE_CRD (KServe's InferenceService CRD file) not set")
    crd = yaml.safe_load(Path(crd_path).read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    schema = strict_schema(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}
    errors = list(
        jsonschema.Draft7Validator(schema).iter_errors(by_kind(KSERVE, "InferenceService"))
    )
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def strict_schema(node: Any) -> Any:
    """The CRD schema with unknown properties refused, as the API server's strict decoding does."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            if not node.get("x-kubernetes-preserve-unknown-fields"):
                node["additionalProperties"] = False
        if node.get("x-kubernetes-int-or-string"):
            node.pop("type", None)
        for value in node.values():
            strict_schema(value)
    elif isinstance(node, list):
        for value in node:
            strict_schema(value)
    return node


def routes() -> set[str]:
    """The service's GET routes, as its OpenAPI document lists them."""
    paths = create_app(Settings(model_dir=Path("unused"))).openapi()["paths"]
    return {path for path, operations in paths.items() if "get" in operations}


def env_of(container: dict[str, Any]) -> dict[str, str]:
    """The variables set to a literal value."""
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def env_names(container: dict[str, Any]) -> set[str]:
    """Every variable set, literally or from a Secret."""
    return {e["name"] for e in container.get("env", [])}


def containers() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(pod spec, container) of the api Deployment and the KServe predictor."""
    pod = by_kind(BASE, "Deployment")["spec"]["template"]["spec"]
    predictor = by_kind(KSERVE, "InferenceService")["spec"]["predictor"]
    return [(pod, pod["containers"][0]), (predictor, predictor["containers"][0])]


@pytest.mark.parametrize("index", [0, 1], ids=["deployment", "inferenceservice"])
def test_probes_match_service(index: int) -> None:
    pod, container = containers()[index]
    env = env_of(container)
    port = int(env["PORT"])
    ports = {p.get("name"): p["containerPort"] for p in container["ports"]}
    assert list(ports.values()) == [port]
    known = routes()
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] in known, (probe, get["path"])
        assert ports.get(get["port"], get["port"]) == port, probe
    assert container["readinessProbe"]["httpGet"]["path"] in {"/ready", "/v2/health/ready"}
    settings_names = {name.upper() for name in Settings.model_fields}
    assert env_names(container) - OTHER_VARIABLES <= settings_names
    settings = Settings(**{k.lower(): v for k, v in env.items() if k not in OTHER_VARIABLES})
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
    waited = int(pre_stop[1]) if pre_stop else 0
    needed = waited + settings.drain_seconds + settings.graceful_shutdown_seconds
    assert pod["terminationGracePeriodSeconds"] >= needed


@pytest.mark.parametrize("index", [0, 1], ids=["deployment", "inferenceservice"])
def test_container_hardened_and_sized(index: int) -> None:
    pod, container = containers()[index]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 1000  # the image's `app` user (Dockerfile)
    assert "useradd --uid 1000" in (ROOT / "Dockerfile").read_text()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert "/tmp" in mounts
    memory = container["resources"]["requests"]["memory"]
    assert memory.endswith("Gi") and int(memory[:-2]) * 1024 >= PEAK_RSS_MIB


def test_model_store_read_only_for_api_written_by_job() -> None:
    pod = by_kind(BASE, "Deployment")["spec"]["template"]["spec"]
    [claim] = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert claim["persistentVolumeClaim"] == {"claimName": "model-store", "readOnly": True}
    [mount] = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == claim["name"]]
    assert mount["readOnly"] is True
    assert mount["mountPath"] == env_of(pod["containers"][0])["MODEL_DIR"]
    job = by_kind(BASE, "Job")["spec"]["template"]["spec"]
    [job_claim] = [v for v in job["volumes"] if "persistentVolumeClaim" in v]
    assert job_claim["persistentVolumeClaim"]["claimName"] == "model-store"
    [job_mount] = [
        m for m in job["containers"][0]["volumeMounts"] if m["name"] == job_claim["name"]
    ]
    assert job_mount["mountPath"] == "/models" and not job_mount.get("readOnly")
    assert by_kind(BASE, "PersistentVolumeClaim")["metadata"]["name"] == "model-store"
    isvc_env = env_of(by_kind(KSERVE, "InferenceService")["spec"]["predictor"]["containers"][0])
    assert isvc_env["STORAGE_URI"] == "pvc://model-store/"
    assert isvc_env["MODEL_DIR"] == "/mnt/models"  # where KServe mounts STORAGE_URI
    assert isvc_env["PROTOCOL"] == "v2"


def test_selectors_and_targets_match() -> None:
    deployment = by_kind(BASE, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):
        doc = by_kind(BASE, kind)
        selector = doc["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert selector.items() <= labels.items(), kind
    assert by_kind(BASE, "Service")["spec"]["ports"][0]["targetPort"] == "http"
    for hpa in [by_kind(BASE, "HorizontalPodAutoscaler"), *OPTIONS]:
        assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]


def test_queue_depth_option_names_a_real_metric() -> None:
    [hpa] = OPTIONS
    [pods] = [m["pods"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
    names = {metric.name for metric in Metrics().registry.collect()}
    assert pods["metric"]["name"] in names


def pod_specs() -> dict[str, dict[str, Any]]:
    """Every pod spec of the manifests: the api Deployment, the train Job, the KServe predictor."""
    return {
        "deployment": by_kind(BASE, "Deployment")["spec"]["template"]["spec"],
        "job": by_kind(BASE, "Job")["spec"]["template"]["spec"],
        "inferenceservice": by_kind(KSERVE, "InferenceService")["spec"]["predictor"],
    }


@pytest.mark.parametrize("name", ["deployment", "job", "inferenceservice"])
def test_pod_has_no_service_account_token(name: str) -> None:
    assert pod_specs()[name]["automountServiceAccountToken"] is False


@pytest.mark.parametrize("index", [0, 1], ids=["deployment", "inferenceservice"])
def test_api_keys_from_the_secret(index: int, tmp_path: Path) -> None:
    pod, container = containers()[index]
    secret = by_kind(BASE, "Secret")
    key_file = Path(env_of(container)["API_KEYS_FILE"])
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    [volume] = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName")]
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    [item] = volume["secret"]["items"]
    mount = mounts[volume["name"]]
    assert mount["readOnly"] is True
    assert Path(mount["mountPath"]) / item["path"] == key_file
    # The shipped file is a valid key file whose one digest opens nothing.
    (tmp_path / "keys").write_text(secret["stringData"][item["key"]])
    ring = KeyRing.from_settings(Settings(api_keys_file=tmp_path / "keys"))
    assert len(ring.api) == 1 and matches("", ring.api) is None
    [metrics] = [e for e in container["env"] if e["name"] == "METRICS_API_KEYS"]
    reference = metrics["valueFrom"]["secretKeyRef"]
    assert reference["name"] == secret["metadata"]["name"]
    assert reference["key"] in secret["stringData"]


@pytest.mark.parametrize("index", [0, 1], ids=["deployment", "inferenceservice"])
def test_client_deadlines_set(index: int) -> None:
    env = env_of(containers()[index][1])
    settings = Settings(**{k.lower(): v for k, v in env.items() if k not in OTHER_VARIABLES})
    assert {"HEADER_TIMEOUT_SECONDS", "BODY_TIMEOUT_SECONDS", "KEEP_ALIVE_SECONDS"} <= set(env)
    assert settings.header_timeout_seconds <= 10 and settings.body_timeout_seconds <= 30


def test_network_policy_admits_only_the_balancer_and_the_scraper() -> None:
    policy = by_kind(BASE, "NetworkPolicy")
    labels = by_kind(BASE, "Deployment")["spec"]["template"]["metadata"]["labels"]
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"].items() <= labels.items()
    assert spec["policyTypes"] == ["Ingress", "Egress"] and spec["egress"] == []
    peers = []
    for rule in spec["ingress"]:
        assert [p["port"] for p in rule["ports"]] == ["http"]
        [peer] = rule["from"]
        assert set(peer) == {"namespaceSelector", "podSelector"}  # both: those pods only
        peers.append(peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"])
    assert peers == ["ingress-nginx", "prometheus"]
