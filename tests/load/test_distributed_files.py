"""The shipped compose file and Kubernetes manifests for remote locust workers.

Parsed and cross-checked (names, ports, mounts, the variables qgate's plugin reads, locust's
version), and the compose worker's own command line is run against a real qgate master.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from acme_shop import ACME_LOCUSTFILE, AcmeShop
from cli_support import PROJECT
from harness.load.engine import LocustPlan, free_port, run_locust
from harness.load.stats import read_stats_json

DISTRIBUTED = PROJECT / "loadprofiles" / "distributed"
COMPOSE = DISTRIBUTED / "docker-compose.yml"
KUBERNETES = DISTRIBUTED / "kubernetes" / "qgate-load.yaml"
PLUGIN_VARIABLES = {"QGATE_LOAD_TARGET", "QGATE_LOAD_AUTH"}


def installed_locust() -> str:
    out = subprocess.run([sys.executable, "-m", "locust", "--version"], capture_output=True,
                         text=True, check=True).stdout
    return out.split()[1]


def compose_worker() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    return data["services"]["worker"]  # type: ignore[no-any-return]


def test_compose_worker_matches_the_master_and_the_plugin() -> None:
    worker = compose_worker()
    assert worker["image"] == f"locustio/locust:{installed_locust()}"
    command = worker["command"]
    assert "--worker" in command and "--master-host" in command
    assert command[command.index("--master-port") + 1] == "${QGATE_MASTER_PORT:-5557}"
    assert "qgate_locust_plugin.py" in command[command.index("-f") + 1]
    assert set(worker["environment"]) == PLUGIN_VARIABLES
    for volume in worker["volumes"]:
        source = (COMPOSE.parent / volume.split(":")[0]).resolve()
        assert source.exists(), volume
    assert (COMPOSE.parent / "../ci.py").resolve().is_file()


def test_kubernetes_manifests_wire_workers_to_the_gate() -> None:
    docs = {d["kind"]: d for d in yaml.safe_load_all(KUBERNETES.read_text())}
    assert set(docs) == {"Service", "Job", "Deployment"}
    service, job, workers = docs["Service"], docs["Job"], docs["Deployment"]
    port = service["spec"]["ports"][0]["port"]
    gate_pod = job["spec"]["template"]
    assert service["spec"]["selector"].items() <= gate_pod["metadata"]["labels"].items()
    assert gate_pod["spec"]["containers"][0]["ports"][0]["containerPort"] == port
    assert gate_pod["spec"]["containers"][0]["command"][:2] == ["qgate", "run"]
    pod = workers["spec"]["template"]
    assert workers["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    container = pod["spec"]["containers"][0]
    assert container["image"] == f"locustio/locust:{installed_locust()}"
    args = container["args"]
    assert args[args.index("--master-host") + 1] == service["metadata"]["name"]
    assert args[args.index("--master-port") + 1] == str(port)
    assert {e["name"] for e in container["env"]} == PLUGIN_VARIABLES
    mount = container["volumeMounts"][0]
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == mount["name"])
    files = args[args.index("-f") + 1].split(",")
    assert all(f.startswith(mount["mountPath"] + "/") for f in files)
    # the ConfigMap the header tells you to create holds exactly those files
    header = KUBERNETES.read_text().split("apiVersion")[0]
    assert f"create configmap {volume['configMap']['name']}" in header
    assert {Path(f).name for f in files} <= {p.name for p in (PROJECT / "loadprofiles").glob(
        "*.py")} | {"qgate_locust_plugin.py"}


@pytest.mark.integration
def test_the_compose_worker_command_joins_a_qgate_master(tmp_path: Path,
                                                         acme_shop: AcmeShop) -> None:
    """qgate as master with remote_workers = 1; the worker runs the compose command line."""
    (tmp_path / "acme_locustfile.py").write_text(ACME_LOCUSTFILE)
    port = free_port()
    plan = LocustPlan(locustfile=tmp_path / "acme_locustfile.py", host=acme_shop.base_url,
                      out_dir=tmp_path / "out", users=2, spawn_rate=2, duration_s=5,
                      max_requests=100_000, remote_workers=1, master_port=port,
                      workers_timeout_s=30, basic_auth=("acme-qa", "acme-s3cret-pw"),
                      headers={"X-Acme-Token": "acme-token-77"})
    values = {"QGATE_LOCUSTFILE:-ci.py": "acme_locustfile.py",
              "QGATE_MASTER_HOST:?set QGATE_MASTER_HOST to the machine running qgate":
              "127.0.0.1", "QGATE_MASTER_PORT:-5557": str(port)}
    mounts = {"/mnt/loadprofiles/": f"{tmp_path}/",
              "/mnt/qgate/": str(PROJECT / "harness" / "load") + "/"}
    command = []
    for arg in compose_worker()["command"]:
        arg = re.sub(r"\$\{([^}]*)\}", lambda m: values[m.group(1)], arg)
        for inside, outside in mounts.items():
            arg = arg.replace(inside, outside)
        command.append(arg)
    env_vars = {"QGATE_LOAD_TARGET": acme_shop.base_url, "QGATE_LOAD_AUTH": (
        '{"basic": ["acme-qa", "acme-s3cret-pw"], "headers": {"X-Acme-Token": "acme-token-77"}}')}
    result: list[Any] = []
    master = threading.Thread(target=lambda: result.append(run_locust(plan)))
    master.start()
    time.sleep(2)
    worker = subprocess.Popen([sys.executable, "-m", "locust", *command], cwd=tmp_path,
                              env={**os.environ, **env_vars}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        master.join(timeout=120)
    finally:
        if worker.poll() is None:
            worker.terminate()
        worker.wait(timeout=30)
    assert result, "the master did not finish"
    stats = read_stats_json(result[0].stats_json)
    assert stats.entries["catalog"].requests > 10
    assert acme_shop.unauthorized == 0  # the worker's requests carried the auth
