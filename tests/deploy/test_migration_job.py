"""The Kubernetes migration Job runs from the image as built, and the Deployments wait for it.

The image is not built here (no Docker engine in CI): its layout is rebuilt from deploy/Dockerfile itself — the
packages the build stage installs, laid out as a non-editable install does (the package and its declared package
data, nothing else of the repository), and the final stage's WORKDIR, COPY and ENV — and the Job's command runs in
it with the Job's environment from the rendered manifests, on a read-only root filesystem with /tmp the only
writable place (a private mount namespace, as `readOnlyRootFilesystem: true` plus the emptyDir gives the pod).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
import uuid
from pathlib import Path

import pytest
import yaml
from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def rendered(overlay: str = "overlays/production") -> list[dict]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is installed by `make deps`"
    out = subprocess.run([kubectl, "kustomize", str(ROOT / "deploy" / "k8s" / overlay)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


# -- the image's layout, read from deploy/Dockerfile -----------------------------------------------------------
def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
            for line in (raw.strip() for raw in text.splitlines()) if line and not line.startswith("#")]


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def installed_projects() -> list[Path]:
    """The local projects the build stage pip-installs (`./libs/contracts ...`)."""
    runs = " ".join(arg for stage in _stages() for kind, arg in stage if kind == "RUN" and "pip install" in arg)
    return [ROOT / word for word in shlex.split(runs) if word.startswith("./")]


def install_non_editable(project: Path, target: Path) -> None:
    """What `pip install <project>` puts in site-packages: the packages setuptools finds and their declared package
    data. (pip itself cannot build here: offline, and setuptools 65 needs the `wheel` package to build one.)"""
    tool = tomllib.loads((project / "pyproject.toml").read_text()).get("tool", {}).get("setuptools", {})
    include = tool.get("packages", {}).get("find", {}).get("include", ["*"])
    data = tool.get("package-data", {})
    for package in find_packages(str(project), include=include):
        source = project / package.replace(".", "/")
        destination = target / package.replace(".", "/")
        destination.mkdir(parents=True, exist_ok=True)
        for module in source.glob("*.py"):
            shutil.copy2(module, destination / module.name)
        for pattern in data.get("*", []) + data.get(package, []):
            for found in source.glob(pattern):
                if found.is_file():
                    (destination / found.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(found, destination / found.relative_to(source))


def image_layout(base: Path) -> tuple[Path, Path, dict[str, str]]:
    """(site-packages, working directory, ENV) of the final image."""
    site, rootfs = base / "site-packages", base / "rootfs"
    for project in installed_projects():
        install_non_editable(project, site)
    final = _stages()[-1]
    workdir, env = Path("/"), {}
    for kind, arg in final:
        if kind == "WORKDIR":
            workdir = Path(arg)
        elif kind == "COPY" and "--from=" not in arg:
            words = [word for word in shlex.split(arg) if not word.startswith("--")]
            *sources, destination = words
            target = rootfs / str(workdir).lstrip("/") / destination
            for source in sources:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, target)
        elif kind == "ENV":
            env.update(dict(item.split("=", 1) for item in shlex.split(arg)))
    app = rootfs / str(workdir).lstrip("/")
    app.mkdir(parents=True, exist_ok=True)
    return site, app, env


def _read_only_root_available() -> bool:
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -o remount,bind,ro / && mount -t tmpfs tmpfs /tmp"],
                           capture_output=True, timeout=30) if shutil.which("unshare") else None
    return probe is not None and probe.returncode == 0


def run_in_pod(command: list[str], app: Path, env: dict[str, str], read_only: bool) -> subprocess.CompletedProcess:
    """`command` in `app` with only `env`; the root filesystem read-only and a fresh /tmp when the kernel lets us
    (else the test compares the folders before and after)."""
    if read_only:
        script = "mount -o remount,bind,ro / && mount -t tmpfs tmpfs /tmp && cd \"$0\" && exec \"$@\""
        interpreter = Path(sys.prefix)
        if interpreter.is_relative_to("/tmp"):
            # this test's interpreter (a CI clone's venv) lives under /tmp, which the pod's fresh /tmp hides: hold
            # it aside and bind it back in place inside the new /tmp
            hold = Path(tempfile.mkdtemp(prefix="jx-venv-", dir=app.parent))
            script = (f"mount --bind '{interpreter}' '{hold}' && mount -o remount,bind,ro / && "
                      f"mount -t tmpfs tmpfs /tmp && mkdir -p '{interpreter}' && mount --bind '{hold}' '{interpreter}' "
                      "&& cd \"$0\" && exec \"$@\"")
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(app), *command]
    else:
        argv = command
    return subprocess.run(argv, cwd=app, env=env, capture_output=True, text=True, timeout=300)


def _snapshot(*folders: Path) -> set[str]:
    return {str(path) for folder in folders for path in folder.rglob("*")}


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    # outside /tmp: the pod's /tmp is an emptyDir, mounted fresh over it
    base = Path(tempfile.mkdtemp(prefix="jx-image-", dir="/var/tmp" if Path("/var/tmp").is_dir() else None))
    try:
        yield image_layout(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _pod_env(container: dict, configmaps: dict[str, dict], secrets: dict[tuple[str, str], str],
             image_env: dict[str, str], site: Path) -> dict[str, str]:
    env = dict(image_env)
    # the image's interpreter: this test's, with the installed packages first on the path (not the repository)
    env["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    env["PYTHONPATH"] = str(site)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # an image's packages are byte-compiled at build time
    env["HOME"] = "/app"
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]])
    for variable in container.get("env", []):
        if "value" in variable:
            # Kubernetes expands $(NAME) of the variables defined before this one
            value = variable["value"]
            for name, known in env.items():
                value = value.replace(f"$({name})", known)
            env[variable["name"]] = value
        else:
            ref = variable["valueFrom"]["secretKeyRef"]
            env[variable["name"]] = secrets[(ref["name"], ref["key"])]
    return env


def user_credentials(name: str) -> dict[tuple[str, str], str]:
    """What the Messaging Topology Operator generates for the User `name` (its username is not guest)."""
    return {(f"{name}-user-credentials", "username"): name, (f"{name}-user-credentials", "password"): "secret"}


def test_the_migration_job_runs_from_the_image_as_built(image, pg):
    site, app, image_env = image
    docs = rendered()
    job = next(doc for doc in docs if doc["kind"] == "Job")
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    configmaps = {doc["metadata"]["name"]: doc["data"] for doc in docs if doc["kind"] == "ConfigMap"}
    databases: dict[str, str] = {}
    # production refuses the guest user; migrations never connect to the broker (their user has no rights)
    secrets: dict[tuple[str, str], str] = {**user_credentials("jixiao-migrate"), **user_credentials("jixiao-goals")}
    names = []
    for variable in container["env"]:
        ref = variable.get("valueFrom", {}).get("secretKeyRef")
        if ref and variable["name"].endswith("_DATABASE_URL"):
            name = f"jxt_job_{variable['name'].split('_')[0].lower()}_{uuid.uuid4().hex[:6]}"
            names.append(name)
            databases[variable["name"].split("_")[0].lower()] = secrets[(ref["name"], ref["key"])] = pg.create(name)
    suite = yaml.safe_load((ROOT / "suite.yaml").read_text())
    assert set(databases) == {s["name"] for s in suite["services"] if s.get("migrations")}
    env = _pod_env(container, configmaps, secrets, image_env, site)
    assert env["ENVIRONMENT"] == "production"
    read_only = _read_only_root_available()
    before = _snapshot(app, site)
    try:
        where = run_in_pod(["python", "-c", "import chassis, goals, compliance; print(chassis.__file__); "
                            "print(goals.__file__); print(compliance.__file__)"], app, env, read_only)
        assert where.returncode == 0, where.stderr
        assert all(line.startswith(str(site)) for line in where.stdout.split()), where.stdout  # not the repo

        result = run_in_pod(container["command"], app, env, read_only)
        assert result.returncode == 0, result.stdout + result.stderr
        from chassis.migrations import is_migrated

        for service, url in databases.items():
            assert f"migrating {service}" in result.stdout
            assert is_migrated(service, url), service
        assert _snapshot(app, site) == before  # nothing written beside the image's files (no var/)

        # the Deployments' init containers pass once the Job has run...
        deployment = next(doc for doc in docs if doc["kind"] == "Deployment"
                          and doc["metadata"]["name"] == "jixiao-goals")
        init = deployment["spec"]["template"]["spec"]["initContainers"][0]
        init_env = _pod_env(init, configmaps, secrets, image_env, site)
        waited = run_in_pod(init["command"], app, init_env, read_only)
        assert waited.returncode == 0, waited.stdout + waited.stderr
        # ...and hold the pod while the schema is behind (here: a database nobody migrated)
        empty = f"jxt_job_empty_{uuid.uuid4().hex[:6]}"
        names.append(empty)
        init_env["GOALS_DATABASE_URL"] = pg.create(empty)
        command = [*init["command"][:init["command"].index("--timeout")], "--timeout", "1"]
        held = run_in_pod(command, app, init_env, read_only)
        assert held.returncode == 1 and "not migrated" in held.stdout, held.stdout + held.stderr
    finally:
        for name in names:
            pg.drop(name)


def test_each_release_gets_its_own_job_and_pods_wait_for_its_schema():
    docs = rendered()
    overlay = yaml.safe_load((ROOT / "deploy" / "k8s" / "overlays" / "production" / "kustomization.yaml")
                             .read_text())
    tag = next(image["newTag"] for image in overlay["images"] if image["name"] == "jixiao")
    job = next(doc for doc in docs if doc["kind"] == "Job")
    # a Job's template is immutable: the next release must create a new Job, not patch this one
    assert job["metadata"]["name"] == "jixiao-migrate-" + re.sub(r"[^a-z0-9-]", "-", tag.lower())
    assert job["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":" + tag)
    suite = yaml.safe_load((ROOT / "suite.yaml").read_text())
    migrated = {s["name"] for s in suite["services"] if s.get("migrations")}
    for deployment in (doc for doc in docs if doc["kind"] == "Deployment"):
        service = deployment["metadata"]["name"].removeprefix("jixiao-")
        pod = deployment["spec"]["template"]["spec"]
        main = pod["containers"][0]
        if service not in migrated:
            continue
        waits = [c for c in pod.get("initContainers", []) if c["command"][:4] == ["python", "-m", "chassis.migrations",
                                                                                  "wait"]]
        assert len(waits) == 1, service
        init = waits[0]
        assert init["command"][4] == service and init["image"] == main["image"]
        assert init["securityContext"]["readOnlyRootFilesystem"] is True
        assert init["resources"]["limits"]["memory"]
        names = {variable["name"] for variable in init["env"]}
        assert f"{service.upper()}_DATABASE_URL" in names


def test_the_suite_finds_configs_in_the_image_layout_and_leaves_var_alone(tmp_path, monkeypatch):
    """suite.yaml names repository paths (services/goals/config.yaml); in the image they are config/<name>.yaml
    beside it, and a server database never makes the suite create ./var."""
    from chassis.suite import ensure_sqlite_folder, find_config, load_suite

    (tmp_path / "config").mkdir()
    shutil.copy2(ROOT / "suite.yaml", tmp_path / "suite.yaml")
    (tmp_path / "config" / "goals.yaml").write_text("AMQP_URI: memory://\n")
    monkeypatch.delenv("JIXIAO_CONFIG_DIR", raising=False)
    specs = {spec.name: spec for spec in load_suite(tmp_path / "suite.yaml")}
    assert specs["goals"].config == tmp_path / "config" / "goals.yaml"
    assert specs["compliance"].config is None  # no file: settings from the environment alone
    assert {spec.migrations for spec in specs.values()} >= {"goals", "compliance"}
    repository = {spec.name: spec for spec in load_suite(ROOT / "suite.yaml")}
    assert repository["goals"].config == ROOT / "services" / "goals" / "config.yaml"
    monkeypatch.setenv("JIXIAO_CONFIG_DIR", str(tmp_path / "config"))
    assert find_config(ROOT, "goals", "services/goals/config.yaml") == tmp_path / "config" / "goals.yaml"
    monkeypatch.chdir(tmp_path)
    ensure_sqlite_folder("postgresql://postgres@127.0.0.1/x")
    assert not (tmp_path / "var").exists()
    ensure_sqlite_folder("sqlite:///var/goals.db")
    assert (tmp_path / "var").is_dir()
