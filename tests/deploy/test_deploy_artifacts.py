"""The deployment artifacts are valid for the tools that will consume them: hadolint for the image, kustomize and
the Kubernetes schemas (strict) for the manifests, promtool for the alert rules, shellcheck for scripts."""
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, **kw)


def tool(name: str) -> str:
    path = shutil.which(name) or (str(BIN / name) if (BIN / name).exists() else None)
    assert path, f"{name} is installed by `make deps`"
    return path


def test_dockerfile_passes_hadolint():
    result = run(tool("hadolint"), ROOT / "deploy" / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def rendered_manifests(overlay: str) -> list[dict]:
    result = run(tool("kubectl"), "kustomize", ROOT / "deploy" / "k8s" / overlay)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


# kubernetes-validate --strict over the built-in kinds, and the operators' resources against their CRD schemas:
# tests/deploy/test_k8s_operators.py


def test_every_service_has_probes_limits_and_runs_unprivileged():
    deployments = [d for d in rendered_manifests("overlays/production") if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {
        "jixiao-gateway", "jixiao-goals", "jixiao-feedback", "jixiao-incentives", "jixiao-compliance",
        "jixiao-notifications"}
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
            assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
            assert container["resources"]["limits"]["memory"]
            assert container["resources"]["requests"]["cpu"]
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["image"].startswith("registry.example.com/jixiao:")


def test_suite_file_and_manifests_name_the_same_services():
    suite = yaml.safe_load((ROOT / "suite.yaml").read_text())
    names = {s["name"] for s in suite["services"]}
    deployments = {d["metadata"]["name"].removeprefix("jixiao-")
                   for d in rendered_manifests("base") if d["kind"] == "Deployment"}
    assert names == deployments


def test_alert_rules_pass_promtool_and_their_unit_tests():
    promtool = tool("promtool")
    monitoring = ROOT / "deploy" / "monitoring"
    checked = run(promtool, "check", "rules", monitoring / "rules.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run(promtool, "test", "rules", "rules_test.yaml", cwd=monitoring)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_scripts_pass_shellcheck():
    result = run(tool("shellcheck"), ROOT / ".ci" / "run")
    assert result.returncode == 0, result.stdout + result.stderr


def _env_names(container: dict) -> set[str]:
    return {variable["name"] for variable in container.get("env", [])}


def test_production_pods_get_every_setting_production_requires():
    """ENVIRONMENT=production refuses the embedded defaults: each service gets its database, compliance its keys,
    the gateway its token keys, and the migration Job every database of suite.yaml."""
    from compliance.settings import SECRETS

    docs = rendered_manifests("overlays/production")
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("jixiao-config"))
    assert config["data"]["ENVIRONMENT"] == "production"
    assert {"GATEWAY_JWT_ISSUER", "GATEWAY_JWT_AUDIENCE"} <= set(config["data"])
    containers = {d["metadata"]["name"].removeprefix("jixiao-"): d["spec"]["template"]["spec"]["containers"][0]
                  for d in docs if d["kind"] == "Deployment"}
    suite = yaml.safe_load((ROOT / "suite.yaml").read_text())
    with_database = [s["name"] for s in suite["services"] if s.get("migrations")]
    for name in with_database:
        assert f"{name.upper()}_DATABASE_URL" in _env_names(containers[name]), name
    assert {"COMPLIANCE_" + secret.upper() for secret in SECRETS} <= _env_names(containers["compliance"])
    assert "GATEWAY_JWT_PUBLIC_KEYS" in _env_names(containers["gateway"])
    job = next(d for d in docs if d["kind"] == "Job")
    migrate_env = _env_names(job["spec"]["template"]["spec"]["containers"][0])
    assert {f"{name.upper()}_DATABASE_URL" for name in with_database} <= migrate_env
