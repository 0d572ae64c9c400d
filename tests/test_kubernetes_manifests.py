"""deploy/kubernetes/: valid Kubernetes objects that fit this project's code and settings.

Neither kubectl nor kustomize is needed: the base's objects are read from the
files its kustomization.yaml lists, and kubernetes-validate checks each one
against the schemas of a Kubernetes release that it bundles (offline).
"""

import copy
import re
import runpy
from pathlib import Path

import dj_database_url
import kubernetes_validate
import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands
from django.urls import Resolver404, resolve

from flowforge_admin.definitions.rules import check_name

KUBERNETES = Path(settings.BASE_DIR) / "deploy" / "kubernetes"
EXAMPLES = KUBERNETES / "examples"
# The oldest release still maintained upstream, and the newest one bundled.
KUBERNETES_VERSIONS = ["1.33.0", kubernetes_validate.utils.latest_version()]
# The only files that read environment variables (flowforge_admin/conf.py holds
# the defaults of settings, which the environment does not reach directly).
ENV_READERS = [
    Path(settings.BASE_DIR) / "project" / "settings.py",
    Path(settings.BASE_DIR) / "deploy" / "gunicorn.conf.py",
]
IMAGE = "flowforge-admin"


def load(path):
    """Return the YAML documents of ``path`` (empty ones left out)."""
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def kustomization():
    return load(KUBERNETES / "kustomization.yaml")[0]


def base_objects():
    """Return the objects of the base, as `kustomize build` would list them (before its transformations)."""
    return [obj for name in kustomization()["resources"] for obj in load(KUBERNETES / name)]


def example_objects():
    return [obj for path in sorted(EXAMPLES.glob("*.yaml")) for obj in load(path)]


def find(kind, name, objects=None):
    found = [
        obj
        for obj in (base_objects() if objects is None else objects)
        if obj["kind"] == kind and obj["metadata"]["name"] == name
    ]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs(objects):
    for obj in objects:
        if obj["kind"] in {"Deployment", "Job"}:
            yield obj, obj["spec"]["template"]["spec"]


def containers(objects):
    """Yield (object, container) for every container and init container of the objects' pods."""
    for obj, pod in pod_specs(objects):
        for container in pod.get("initContainers", []) + pod["containers"]:
            yield obj, container


def manage_commands(container):
    """Return the `manage.py` subcommands a container runs (in its command, args and exec probes)."""
    words = " ".join(container.get("command", []) + container.get("args", []))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        words += " " + " ".join(container.get(probe, {}).get("exec", {}).get("command", []))
    return re.findall(r"manage\.py (\w+)", words)


def test_kustomization_lists_every_manifest_of_the_folder():
    """Every YAML file beside kustomization.yaml is one of its resources, and each listed file exists."""
    on_disk = {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}

    assert set(kustomization()["resources"]) == on_disk


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_a_valid_kubernetes_object(version):
    """Every object of the base and of the examples passes the strict schema (unknown fields refused)."""
    objects = base_objects() + example_objects()
    assert {obj["kind"] for obj in objects} >= {"ConfigMap", "Secret", "Deployment", "Service", "Job"}
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_validation_refuses_a_misspelt_field():
    """A misspelt field fails the strict validation (so the test above can fail)."""
    worker = copy.deepcopy(find("Deployment", "flowforge-worker"))
    pod = worker["spec"]["template"]["spec"]
    pod["terminationGracePeriod"] = pod.pop("terminationGracePeriodSeconds")

    with pytest.raises(kubernetes_validate.ValidationError, match="terminationGracePeriod"):
        kubernetes_validate.validate(worker, KUBERNETES_VERSIONS[-1], strict=True)


def test_every_container_uses_the_image_that_kustomize_replaces():
    """Every container runs flowforge-admin, the image name kustomization's `images:` overrides."""
    assert [image["name"] for image in kustomization()["images"]] == [IMAGE]
    for obj, container in containers(base_objects()):
        assert container["image"].split(":")[0] == IMAGE, (obj["metadata"]["name"], container["name"])


def test_http_probes_and_the_metrics_path_are_urls_of_the_project():
    """The web pods' probe paths and Prometheus' scrape path resolve in project/urls.py."""
    web = find("Deployment", "flowforge-web")
    (container,) = web["spec"]["template"]["spec"]["containers"]
    paths = [container[probe]["httpGet"]["path"] for probe in ("readinessProbe", "livenessProbe")]
    paths.append(web["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"])

    assert "/health/" in paths
    for path in paths:
        try:
            resolve(path)
        except Resolver404:
            pytest.fail(f"{path} is probed or scraped but project/urls.py has no such URL")


def test_containers_run_existing_management_commands():
    """Every `manage.py X` the manifests run (workers, probes, the Job) is a command of the project."""
    commands = {name for _, container in containers(base_objects()) for name in manage_commands(container)}

    assert commands >= {"qcluster", "worker_health", "migrate", "sync_flows"}
    assert commands <= set(get_commands())


def test_worker_pods_outlive_the_longest_task():
    """A draining worker pod is given longer than FLOWFORGE_WORKER_TIMEOUT before it is killed."""
    config = find("ConfigMap", "flowforge-config")["data"]
    pod = find("Deployment", "flowforge-worker")["spec"]["template"]["spec"]

    assert pod["terminationGracePeriodSeconds"] > int(config["FLOWFORGE_WORKER_TIMEOUT"])


def test_web_pods_outlive_gunicorns_graceful_stop(monkeypatch):
    """The web pods' grace period covers the preStop pause plus gunicorn's graceful timeout."""
    config = find("ConfigMap", "flowforge-config")["data"]
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    gunicorn = runpy.run_path(str(Path(settings.BASE_DIR) / "deploy" / "gunicorn.conf.py"))
    pod = find("Deployment", "flowforge-web")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]

    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + gunicorn["graceful_timeout"]
    assert gunicorn["bind"] == f"0.0.0.0:{container['ports'][0]['containerPort']}"


def test_every_environment_variable_set_is_read_by_the_code():
    """Each variable the ConfigMap, the Secret or a container sets is read by settings.py or gunicorn's config.

    A variable only used to build another one (``$(POD_IP)``) is the exception.
    """
    readers = "\n".join(path.read_text() for path in ENV_READERS)
    read = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', readers))
    if "dj_database_url.config(" in readers:
        read.add(dj_database_url.DEFAULT_ENV)  # the variable config() reads by default
    secret = find("Secret", "flowforge-secrets", example_objects())
    names = set(find("ConfigMap", "flowforge-config")["data"]) | set(secret["stringData"])
    helpers = set()
    for _, container in containers(base_objects()):
        for variable in container.get("env", []):
            names.add(variable["name"])
            others = [other.get("value", "") for other in container["env"] if other is not variable]
            if any(f"$({variable['name']})" in value for value in others):
                helpers.add(variable["name"])

    unread = sorted(names - helpers - read)
    assert not unread, f"set in deploy/kubernetes but read by nothing: {unread}"


def test_environment_references_are_defined_first():
    """A `$(NAME)` in a container's env names a variable defined before it (else Kubernetes keeps it literally)."""
    config = set(find("ConfigMap", "flowforge-config")["data"])
    secret = set(find("Secret", "flowforge-secrets", example_objects())["stringData"])
    for obj, container in containers(base_objects()):
        defined = set()
        for source in container.get("envFrom", []):
            defined |= config if "configMapRef" in source else secret
        for variable in container.get("env", []):
            for reference in re.findall(r"\$\((\w+)\)", variable.get("value", "")):
                assert reference in defined, (obj["metadata"]["name"], variable["name"], reference)
            defined.add(variable["name"])


def test_pods_read_the_config_and_secret_of_the_deployment():
    """Every configMapRef / secretRef names the base's ConfigMap or the Secret made out of band."""
    secret = find("Secret", "flowforge-secrets", example_objects())
    config = find("ConfigMap", "flowforge-config")
    for obj, container in containers(base_objects()):
        refs = {(next(iter(source)), next(iter(source.values()))["name"]) for source in container["envFrom"]}
        assert refs == {
            ("configMapRef", config["metadata"]["name"]),
            ("secretRef", secret["metadata"]["name"]),
        }, (obj["metadata"]["name"], container["name"])
    assert set(secret["stringData"]) == {
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "FLOWFORGE_REDIS_URL",
        "FLOWFORGE_METRICS_TOKEN",
    }
    # Kept out of the base, so that applying it never overwrites the real values.
    assert "Secret" not in {obj["kind"] for obj in base_objects()}


def test_pods_run_as_a_non_root_user():
    """Every pod refuses to start as root, like the image's USER."""
    for obj, pod in pod_specs(base_objects()):
        assert pod["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]
        assert pod["securityContext"]["runAsUser"] != 0


def test_the_dedicated_cluster_example_is_a_worker_of_its_own_queue():
    """examples/worker-gpu.yaml: the workers' command and probes, as the cluster Q_CLUSTER_NAME names, with its own pods."""
    config = find("ConfigMap", "flowforge-config")["data"]
    worker = find("Deployment", "flowforge-worker")
    gpu = find("Deployment", "flowforge-worker-gpu", example_objects())
    (base_container,) = worker["spec"]["template"]["spec"]["containers"]
    (container,) = gpu["spec"]["template"]["spec"]["containers"]

    assert container["args"] == base_container["args"]
    for key in ("envFrom", "startupProbe", "livenessProbe"):
        assert container[key] == base_container[key], key
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    assert check_name(env["Q_CLUSTER_NAME"]) is None
    # The cluster name signs the messages: a dedicated cluster changes only Django-Q2's queue name.
    assert "FLOWFORGE_CLUSTER_NAME" not in env
    # Neither Deployment's selector takes the other's pods.
    for one, other in ((worker, gpu), (gpu, worker)):
        selector = one["spec"]["selector"]["matchLabels"].items()
        assert not selector <= other["spec"]["template"]["metadata"]["labels"].items()
    pod = gpu["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > int(config["FLOWFORGE_WORKER_TIMEOUT"])
