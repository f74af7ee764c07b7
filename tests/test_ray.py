"""Sweeps on Ray: a local cluster (a head and a worker node on this machine) gives the same rows as local processes."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sb3_ccddpg.studies.bench.scale import main, written_rows
from sb3_ccddpg.studies.executors import RayExecutor

pytest.importorskip("ray")
RAY = str(Path(sys.executable).parent / "ray")
HOST = "127.0.0.2"  # a loopback address: the cluster's traffic stays on this machine
QUICK = ["--quick", "--n-uavs", "6", "--n-satellites", "3", "--n-states", "4", "--train-steps", "300"]
METHODS = ["--methods", "bound", "exact", "equal split", "GA", "twin-descent", "ccddpg-paper", "ccddpg"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A Ray head and one worker node on this machine, one CPU each; stopped after the tests."""
    address = f"{HOST}:{_free_port()}"
    common = ["--node-ip-address", HOST, "--num-cpus", "1", "--object-store-memory", "100000000", "--disable-usage-stats"]
    try:
        subprocess.run([RAY, "start", "--head", "--port", address.split(":")[1], "--include-dashboard=false", *common],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        subprocess.run([RAY, "start", "--address", address, *common], check=True, capture_output=True, timeout=120)
        yield address
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)


def test_a_sweep_on_a_ray_cluster_gives_the_local_rows(tmp_path: Path, cluster: str) -> None:
    main([*QUICK, *METHODS, "--output", str(tmp_path / "local")])
    main([*QUICK, *METHODS, "--output", str(tmp_path / "ray"), "--ray-address", cluster])
    timing = ["decision_time_s", "train_s"]
    local, on_ray = (written_rows(tmp_path / name).drop(columns=timing) for name in ("local", "ray"))
    assert len(local) == 4 * 7
    pd.testing.assert_frame_equal(on_ray, local)


def test_an_address_that_does_not_answer_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=rf"Ray address '{HOST}:1' does not answer"):
        RayExecutor(f"{HOST}:1")
    with pytest.raises(ValueError, match="must be 'auto', 'local' or host:port"):
        RayExecutor("cluster")
