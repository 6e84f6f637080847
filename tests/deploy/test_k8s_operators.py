"""The Kubernetes overlays from one apply: the operators' custom resources are valid for their CRD schemas, the
broker users carry exactly the rights of docs/security.md, every Deployment has its database, broker user,
autoscaler, egress policy and ServiceMonitor, and the PrometheusRule is rules.yaml itself."""
import json
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "deploy" / "crd-schemas"
OVERLAYS = ["overlays/dev", "overlays/production"]
BUILTIN_GROUPS = {"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io"}


@cache
def rendered(overlay: str) -> tuple[dict, ...]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is installed by `make deps`"
    out = subprocess.run([kubectl, "kustomize", str(ROOT / "deploy" / "k8s" / overlay)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc)


def group_version(doc: dict) -> tuple[str, str]:
    group, _, version = doc["apiVersion"].rpartition("/")
    return group, version


def custom_resources(overlay: str) -> list[dict]:
    return [doc for doc in rendered(overlay) if group_version(doc)[0] not in BUILTIN_GROUPS]


def of_kind(overlay: str, kind: str) -> list[dict]:
    return [doc for doc in rendered(overlay) if doc["kind"] == kind]


def services() -> list[str]:
    return [s["name"] for s in yaml.safe_load((ROOT / "suite.yaml").read_text())["services"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_match_their_crd_schemas(overlay):
    kinds = set()
    for doc in custom_resources(overlay):
        group, version = group_version(doc)
        schema_file = SCHEMAS / group / f"{doc['kind'].lower()}_{version}.json"
        assert schema_file.exists(), f"no schema for {doc['apiVersion']} {doc['kind']}: copy it into {SCHEMAS}"
        schema = json.loads(schema_file.read_text())
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
        assert not errors, f"{doc['kind']}/{doc['metadata']['name']}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])
        kinds.add(doc["kind"])
    assert {"RabbitmqCluster", "Vhost", "User", "Permission", "TopicPermission", "Cluster", "ServiceMonitor",
            "PrometheusRule"} <= kinds
    assert (SCHEMAS / "LICENSE").exists()


def test_the_schemas_refuse_what_the_operator_would():
    """The validation can fail: a misspelt field and a missing required one are caught."""
    doc = json.loads(json.dumps(of_kind("overlays/production", "RabbitmqCluster")[0]))
    schema = json.loads((SCHEMAS / "rabbitmq.com" / "rabbitmqcluster_v1beta1.json").read_text())
    doc["spec"]["replica"] = doc["spec"].pop("replicas")
    assert list(jsonschema.Draft7Validator(schema).iter_errors(doc))
    permission = json.loads(json.dumps(of_kind("overlays/production", "Permission")[0]))
    del permission["spec"]["vhost"]
    schema = json.loads((SCHEMAS / "rabbitmq.com" / "permission_v1beta1.json").read_text())
    assert list(jsonschema.Draft7Validator(schema).iter_errors(permission))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builtin_resources_validate_strictly(overlay, tmp_path):
    validate = shutil.which("kubernetes-validate") or str(Path(sys.executable).parent / "kubernetes-validate")
    rendered_file = tmp_path / "builtin.yaml"
    rendered_file.write_text(yaml.safe_dump_all([doc for doc in rendered(overlay) if doc not in
                                                 custom_resources(overlay)]))
    result = subprocess.run([validate, "--strict", str(rendered_file)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_broker_users_have_exactly_the_rights_of_the_security_doc():
    from chassis.brokerusers import service_permissions

    docs = rendered("overlays/production")
    vhost = of_kind("overlays/production", "Vhost")[0]["spec"]["name"]
    users = {doc["metadata"]["name"] for doc in docs if doc["kind"] == "User"}
    permissions = {doc["spec"]["userReference"]["name"]: doc["spec"] for doc in docs if doc["kind"] == "Permission"}
    topics = {}
    for doc in (d for d in docs if d["kind"] == "TopicPermission"):
        topics.setdefault(doc["spec"]["userReference"]["name"], {})[doc["spec"]["permissions"]["exchange"]] = (
            doc["spec"]["permissions"]["write"], doc["spec"]["permissions"]["read"])
    for service in services():
        expected, name = service_permissions(service), f"jixiao-{service}"
        assert name in users, service
        granted = permissions[name]
        assert granted["vhost"] == vhost
        assert granted["permissions"] == {"configure": expected.configure, "write": expected.write,
                                          "read": expected.read}, service
        assert topics.get(name, {}) == expected.topics, service
    # the migration Job's user may do nothing on the broker
    assert "jixiao-migrate" in users and "jixiao-migrate" not in permissions and "jixiao-migrate" not in topics


def _secret_refs(container: dict) -> dict[str, tuple[str, str]]:
    return {v["name"]: (v["valueFrom"]["secretKeyRef"]["name"], v["valueFrom"]["secretKeyRef"]["key"])
            for v in container.get("env", []) if "secretKeyRef" in v.get("valueFrom", {})}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_credentials_come_from_the_secrets_the_operators_generate(overlay):
    docs = rendered(overlay)
    clusters = {doc["metadata"]["name"] for doc in docs if doc["kind"] == "Cluster"}
    users = {doc["metadata"]["name"] for doc in docs if doc["kind"] == "User"}
    rabbit = of_kind(overlay, "RabbitmqCluster")[0]["metadata"]["name"]
    vhost = of_kind(overlay, "Vhost")[0]["spec"]["name"]
    pods = [(d["metadata"]["name"], c) for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")
            for c in [*d["spec"]["template"]["spec"]["containers"],
                      *d["spec"]["template"]["spec"].get("initContainers", [])]]
    for owner, container in pods:
        refs = _secret_refs(container)
        for variable, (secret, key) in refs.items():
            if variable.endswith("_DATABASE_URL"):
                # CloudNativePG writes <cluster>-app with the owner's `uri`
                assert secret.removesuffix("-app") in clusters and key == "uri", (owner, variable)
        user_secret, _ = refs["AMQP_USERNAME"]
        assert refs["AMQP_PASSWORD"][0] == user_secret
        assert user_secret.removesuffix("-user-credentials") in users, owner
        uri = next(v["value"] for v in container["env"] if v["name"] == "AMQP_URI")
        assert uri == f"amqp://$(AMQP_USERNAME):$(AMQP_PASSWORD)@{rabbit}:5672/{vhost}"
        names = [v["name"] for v in container["env"]]
        assert names.index("AMQP_URI") > names.index("AMQP_PASSWORD")  # Kubernetes expands only earlier variables
        if owner.startswith("jixiao-") and owner.removeprefix("jixiao-") in services():
            assert user_secret == f"{owner}-user-credentials", owner  # each service as itself


def test_production_runs_three_broker_nodes_with_quorum_queues_and_tls():
    config = next(d for d in of_kind("overlays/production", "ConfigMap") if d["metadata"]["name"] == "jixiao-config")
    assert config["data"]["AMQP_QUEUE_TYPE"] == "quorum"
    assert of_kind("overlays/production", "RabbitmqCluster")[0]["spec"]["replicas"] == 3
    assert {c["spec"]["instances"] for c in of_kind("overlays/production", "Cluster")} == {3}
    ingress = of_kind("overlays/production", "Ingress")[0]
    certificate = of_kind("overlays/production", "Certificate")[0]
    assert ingress["spec"]["tls"][0]["secretName"] == certificate["spec"]["secretName"]
    assert set(ingress["spec"]["tls"][0]["hosts"]) <= set(certificate["spec"]["dnsNames"])
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "jixiao-gateway"


def test_dev_runs_one_of_everything():
    assert {d["spec"]["replicas"] for d in of_kind("overlays/dev", "Deployment")} == {1}
    assert of_kind("overlays/dev", "RabbitmqCluster")[0]["spec"]["replicas"] == 1
    assert {c["spec"]["instances"] for c in of_kind("overlays/dev", "Cluster")} == {1}
    assert {h["spec"]["minReplicas"] for h in of_kind("overlays/dev", "HorizontalPodAutoscaler")} == {1}
    assert not of_kind("overlays/dev", "Certificate")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_scales_is_fenced_and_is_scraped(overlay):
    docs = rendered(overlay)
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d["spec"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    monitors = {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]: d["spec"]
                for d in docs if d["kind"] == "ServiceMonitor"}
    egress = {d["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: d["spec"]["egress"]
              for d in docs if d["kind"] == "NetworkPolicy" and "Egress" in d["spec"]["policyTypes"]}
    rabbit = of_kind(overlay, "RabbitmqCluster")[0]["metadata"]["name"]
    for service in services():
        metrics = hpas[f"jixiao-{service}"]["metrics"]
        if service == "gateway":
            assert [m["resource"]["name"] for m in metrics if m["type"] == "Resource"] == ["cpu"]
        else:  # consumers: the events waiting in their queues, as the chassis exports them
            external = [m["external"]["metric"] for m in metrics if m["type"] == "External"]
            assert external == [{"name": "jixiao_consumer_queue_messages",
                                 "selector": {"matchLabels": {"service": service}}}], service
        endpoint = monitors[service]["endpoints"][0]
        assert endpoint["path"] == "/metrics" and endpoint["port"] == "http" and endpoint["honorLabels"] is True
        rules = egress[service]
        peers = [peer for rule in rules for peer in rule["to"]]
        pods = [p["podSelector"]["matchLabels"] for p in peers if "podSelector" in p and "namespaceSelector" not in p]
        assert pods == [{"app.kubernetes.io/name": rabbit}, {"cnpg.io/cluster": f"jixiao-{service}-db"}], service
        dns = [r for r in rules if any(p.get("podSelector", {}).get("matchLabels") == {"k8s-app": "kube-dns"}
                                       for p in r["to"])]
        assert dns and {p["port"] for p in dns[0]["ports"]} == {53}
        blocks = [p["ipBlock"] for p in peers if "ipBlock" in p]
        if service == "gateway":  # the identity provider, overridable per overlay
            assert len(blocks) == 1 and blocks[0]["cidr"] != "0.0.0.0/0"
        elif service == "notifications":  # webhook receivers and SMTP: outside the cluster only
            assert all(b.get("except") for b in blocks)
        else:
            assert blocks == [], service


def test_the_prometheus_rule_is_rules_yaml_itself():
    """The alert rules are written once, in deploy/monitoring/rules.yaml; the PrometheusRule carries the same."""
    rules = yaml.safe_load((ROOT / "deploy" / "monitoring" / "rules.yaml").read_text())
    for overlay in OVERLAYS:
        prometheus_rule = of_kind(overlay, "PrometheusRule")
        assert len(prometheus_rule) == 1
        assert prometheus_rule[0]["spec"]["groups"] == rules["groups"]
    check = subprocess.run([sys.executable, str(ROOT / "deploy" / "monitoring" / "render.py"), "--check"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def consumed_sources(service_class, service: str) -> set[str]:
    """The producers whose events a service's @event_handlers take (production requires each one's key)."""
    import inspect
    import types

    from chassis.events import EventConsumer

    found: set[str] = set()
    for _, method in inspect.getmembers(service_class):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, EventConsumer):
                sources = entrypoint.sources
                if callable(sources):  # read from settings: their defaults, as the ConfigMap leaves them
                    sources = sources(types.SimpleNamespace(config={"ENVIRONMENT": "test"}, service_name=service,
                                                            service_cls=service_class))
                found |= {sources} if isinstance(sources, str) else set(sources)
    return found


def test_every_service_gets_the_event_keys_production_requires():
    """ENVIRONMENT=production refuses to start without its own signing key and the key of every producer it
    consumes (chassis.signing): each comes from the jixiao-event-keys Secret."""
    import importlib

    for deployment in of_kind("overlays/production", "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        module, _, name = container["command"][-1].partition(":")
        service = deployment["metadata"]["name"].removeprefix("jixiao-")
        required = {service} | consumed_sources(getattr(importlib.import_module(module), name), service)
        refs = _secret_refs(container)
        for producer in required:
            assert refs.get(f"{producer.upper()}_EVENT_SIGNING_KEY") == ("jixiao-event-keys", producer), (
                service, producer)
        given = {variable.removesuffix("_EVENT_SIGNING_KEY").lower() for variable in refs
                 if variable.endswith("_EVENT_SIGNING_KEY")}
        assert given == required, service  # and no producer key it does not need (it could sign as that producer)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_audit_witness_has_one_writer_on_a_volume_of_its_own(overlay):
    """Compliance's replicas never write the witness; one single-replica StatefulSet does, on its claim, with every
    setting the Deployment's pods get (the same process otherwise), fenced and scraped like them."""
    docs = rendered(overlay)
    env = lambda container: {v["name"]: v.get("value", v.get("valueFrom")) for v in container["env"]}  # noqa: E731
    runs_compliance = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")
                       and "compliance.service:ComplianceService" in d["spec"]["template"]["spec"]["containers"][0]
                       ["command"]]
    writers = [d for d in runs_compliance
               if env(d["spec"]["template"]["spec"]["containers"][0]).get("COMPLIANCE_AUDIT_WITNESS_WRITER") != "false"]
    assert [(d["kind"], d["metadata"]["name"], d["spec"]["replicas"]) for d in writers] == [
        ("StatefulSet", "jixiao-compliance-witness", 1)]
    witness, = writers
    deployment = next(d for d in runs_compliance if d["kind"] == "Deployment")
    container = witness["spec"]["template"]["spec"]["containers"][0]
    ours = env(container)
    assert ours["COMPLIANCE_AUDIT_WITNESS_WRITER"] == "true"
    theirs = env(deployment["spec"]["template"]["spec"]["containers"][0])
    assert {k: v for k, v in theirs.items() if k != "COMPLIANCE_AUDIT_WITNESS_WRITER"}.items() <= ours.items()
    claim, = witness["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == claim["metadata"]["name"])
    assert Path(ours["COMPLIANCE_AUDIT_WITNESS_PATH"]).parent == Path(mount["mountPath"])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    component = witness["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
    assert component != "compliance"  # the Deployment's selector must not match the witness's pod
    assert any(d["kind"] == "ServiceMonitor" and d["spec"]["selector"]["matchLabels"].get(
        "app.kubernetes.io/component") == component for d in docs)
    egress = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["spec"]["podSelector"]["matchLabels"].get(
        "app.kubernetes.io/component") == component)
    peers = [p["podSelector"]["matchLabels"] for rule in egress["spec"]["egress"] for p in rule["to"]
             if "podSelector" in p and "namespaceSelector" not in p]
    assert peers == [{"app.kubernetes.io/name": of_kind(overlay, "RabbitmqCluster")[0]["metadata"]["name"]},
                     {"cnpg.io/cluster": "jixiao-compliance-db"}]
    service = next(d for d in of_kind(overlay, "Service") if d["metadata"]["name"] == witness["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
