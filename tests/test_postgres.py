"""One Optuna study, two worker processes, a real local PostgreSQL server; a killed worker's trial is retried."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna
import psycopg
import pytest

from sb3_ccddpg.studies import local_postgres
from sb3_ccddpg.studies.storage import open_storage
from sb3_ccddpg.studies.tuning import sample_hyperparameters

pytestmark = pytest.mark.postgres

WORKER = [
    str(Path(sys.executable).parent / "sb3-ccddpg"),
    "tune",
    "--n-uavs",
    "3",
    "--evaluations",
    "1",
    "--n-eval-states",
    "5",
]


def search_space() -> set[str]:
    """Names of the parameters every hyperparameter trial samples."""
    trial = optuna.create_study().ask()
    sample_hyperparameters(trial)
    return set(trial.params)


SEARCH_SPACE = search_space()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if local_postgres.server_binaries() is None:
        if os.environ.get("SB3_CCDDPG_REQUIRE_POSTGRES"):
            pytest.fail("SB3_CCDDPG_REQUIRE_POSTGRES is set but no PostgreSQL server is installed")
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)")
    directory = Path(tempfile.mkdtemp(prefix="sb3-ccddpg-postgres-"))
    url = local_postgres.start(directory, local_postgres.free_port())
    yield url
    local_postgres.stop(directory)
    shutil.rmtree(directory, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """Create an empty database on the server and return its URL."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"


def test_workers_opening_an_empty_database_at_once_all_succeed(postgres_url: str, tmp_path: Path) -> None:
    url = fresh_database(postgres_url, "race")
    with ThreadPoolExecutor(max_workers=6) as pool:
        storages = list(pool.map(lambda _: open_storage(url, tmp_path), range(6)))
    assert len(storages) == 6
    assert optuna.create_study(storage=storages[0], study_name="after-race").study_name == "after-race"


def test_two_workers_share_one_study(postgres_url: str, tmp_path: Path) -> None:
    common = ["--storage", postgres_url, "--study-name", "two-workers", "--n-trials", "2", "--steps", "100"]
    workers = [subprocess.Popen([*WORKER, *common, "--output", str(tmp_path / f"w{k}")]) for k in range(2)]
    assert [worker.wait(timeout=600) for worker in workers] == [0, 0]
    trials = optuna.load_study(study_name="two-workers", storage=postgres_url).trials
    assert sorted(trial.number for trial in trials) == [0, 1, 2, 3]  # none lost, none duplicated
    assert all(trial.state == optuna.trial.TrialState.COMPLETE for trial in trials)


def test_killed_worker_leaves_the_study_usable(postgres_url: str, tmp_path: Path) -> None:
    study_name = "killed-worker"
    common = ["--storage", postgres_url, "--study-name", study_name, "--heartbeat", "1"]
    log = (tmp_path / "doomed.log").open("w")
    doomed = subprocess.Popen(
        [*WORKER, *common, "--n-trials", "1", "--steps", "2000", "--output", str(tmp_path / "a")], stderr=log
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            trials = optuna.load_study(study_name=study_name, storage=postgres_url).trials
        except KeyError:  # the worker has not created the study yet
            trials = []
        # Kill mid-training: every parameter sampled and at least one heartbeat sent (interval 1 s).
        if trials and trials[0].state == optuna.trial.TrialState.RUNNING and set(trials[0].params) == SEARCH_SPACE:
            time.sleep(1.5)
            break
        time.sleep(0.5)
    else:
        doomed.kill()
        pytest.fail("the first worker never started a trial")
    assert doomed.poll() is None, f"the worker ended before it was killed:\n{(tmp_path / 'doomed.log').read_text()}"
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    log.close()
    time.sleep(4)  # > 3 heartbeat intervals: the trial is now stale

    restarted = subprocess.run([*WORKER, *common, "--n-trials", "1", "--steps", "2000", "--output", str(tmp_path / "b")])
    assert restarted.returncode == 0
    study = optuna.load_study(study_name=study_name, storage=postgres_url)
    states = [trial.state for trial in study.trials]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    retry = study.trials[1]
    assert optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(retry) == 0, retry.system_attrs
    assert retry.params == study.trials[0].params and study.best_trial.number == 1
