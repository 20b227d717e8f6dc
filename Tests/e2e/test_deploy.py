"""The deployment files under deploy/ are checked, not just shown: the Kubernetes manifests
against the Kubernetes schemas (offline, kubernetes-validate), the vdbm.yaml each ConfigMap
carries by `vdbm check-config` with the Secret's variables, and the systemd unit by
`systemd-analyze verify`. Each check is shown to refuse a broken copy, so none passes vacuously."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from conftest import E2E_VDBM_BIN, ROOT

MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
UNIT = ROOT / "deploy" / "systemd" / "vdbm.service"
VALIDATE = Path(sys.executable).parent / "kubernetes-validate"
# The oldest Kubernetes the manifests claim (gRPC probes are GA from 1.27), and the newest.
KUBERNETES_VERSIONS = ["1.27.0", "1.37.0"]


def kubernetes_validate(path, version):
    return subprocess.run([str(VALIDATE), "--strict", "--kubernetes-version", version, str(path)],
                          capture_output=True, text=True, timeout=120)


def test_there_are_both_examples():
    assert {path.name for path in MANIFESTS} == {"sidecar.yaml", "standalone.yaml"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.name)
def test_manifests_match_the_kubernetes_schemas(manifest, version):
    result = kubernetes_validate(manifest, version)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "did not validate" not in result.stdout + result.stderr


def test_the_validator_refuses_a_broken_manifest(tmp_path):
    broken = (MANIFESTS[0].read_text().replace("containerPort: 9464", 'containerPort: "admin"', 1))
    assert broken != MANIFESTS[0].read_text()
    (tmp_path / "broken.yaml").write_text(broken)
    result = kubernetes_validate(tmp_path / "broken.yaml", KUBERNETES_VERSIONS[-1])
    assert result.returncode != 0 and "containerPort" in result.stdout + result.stderr


def documents(manifest):
    return [document for document in yaml.safe_load_all(manifest.read_text()) if document]


def check_config(config_text, variables):
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "vdbm.yaml"
        config.write_text(config_text)
        env = {key: value for key, value in os.environ.items() if not key.startswith("VDBM_")}
        env.update(variables)
        return subprocess.run([E2E_VDBM_BIN, "check-config", "--config", str(config)], env=env,
                              capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.name)
def test_each_configmap_is_a_valid_vdbm_configuration_with_its_secret(manifest):
    by_kind = {document["kind"]: document for document in documents(manifest)}
    config, secret = by_kind["ConfigMap"]["data"]["vdbm.yaml"], by_kind["Secret"]["stringData"]
    result = check_config(config, secret)
    assert result.returncode == 0, result.stdout + result.stderr
    # The same check refuses a key vdbm does not know, and a Secret's key list it cannot read.
    assert check_config(config + "bogus_section:\n  key: 1\n", secret).returncode != 0
    assert check_config(config, {**secret, "VDBM_AUTH_API_KEYS": "name-without-role"}).returncode != 0


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.name)
def test_vdbm_runs_unprivileged_on_a_read_only_root_with_probes(manifest):
    deployment = next(document for document in documents(manifest) if document["kind"] == "Deployment")
    vdbm = next(container for container in deployment["spec"]["template"]["spec"]["containers"]
                if container["name"] == "vdbm")
    security = vdbm["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert not security["allowPrivilegeEscalation"] and security["capabilities"]["drop"] == ["ALL"]
    probes = [vdbm[name] for name in ("livenessProbe", "readinessProbe", "startupProbe")]
    assert any("grpc" in probe for probe in probes)
    assert any(probe.get("httpGet", {}).get("path") == "/readyz" for probe in probes)
    assert vdbm["resources"]["limits"]["memory"] and vdbm["resources"]["requests"]["cpu"]
    # Credentials come from the Secret, never from the ConfigMap.
    assert vdbm["envFrom"][0]["secretRef"]["name"]
    config = next(document for document in documents(manifest) if document["kind"] == "ConfigMap")
    assert "password" not in config["data"]["vdbm.yaml"] and "api_keys" not in config["data"]["vdbm.yaml"]


def verify_unit(text):
    """`systemd-analyze verify` of `text` as vdbm.service in a root of its own that holds the
    system's units and the binary ExecStart names (verify checks that it is executable)."""
    with tempfile.TemporaryDirectory() as root:
        units = Path(root) / "lib" / "systemd" / "system"
        shutil.copytree("/lib/systemd/system", units, symlinks=True)
        (Path(root) / "etc" / "systemd" / "system").mkdir(parents=True)
        (Path(root) / "etc" / "systemd" / "system" / "vdbm.service").write_text(text)
        for binary, source in (("usr/local/bin/vdbm", E2E_VDBM_BIN), ("bin/kill", shutil.which("kill"))):
            (Path(root) / binary).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, Path(root) / binary)
        return subprocess.run(["systemd-analyze", "verify", f"--root={root}", "vdbm.service"],
                              capture_output=True, text=True, timeout=60)


needs_systemd = pytest.mark.skipif(not shutil.which("systemd-analyze") or not Path("/lib/systemd/system").is_dir(),
                                   reason="systemd-analyze is not installed")


@needs_systemd
def test_the_systemd_unit_verifies_cleanly():
    result = verify_unit(UNIT.read_text())
    # verify exits 0 after mere warnings, so any output at all fails the test.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


@needs_systemd
def test_systemd_verify_reports_a_broken_unit():
    result = verify_unit(UNIT.read_text().replace("Type=exec", "Type=sometimes"))
    assert "Type" in result.stdout + result.stderr or "type" in result.stdout + result.stderr
