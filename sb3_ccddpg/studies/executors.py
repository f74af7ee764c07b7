"""Where a study's independent jobs run: local processes, or the tasks of a Ray cluster.

Both are :class:`concurrent.futures.Executor`-like: ``submit(function, *args)`` returns a
:class:`concurrent.futures.Future`, so a study writes one loop for both and gets the same rows either way.
With Ray (``pip install sb3-ccddpg[ray]``), every job is a task asking for one CPU; a job that trains or
writes files needs the study's output folder at the same path on every node (a shared filesystem), as Ray
Tune's storage does. Each job sets its own torch thread count (one), as the local processes do.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

Result = TypeVar("Result")

#: Seconds a cluster address may take to answer.
RAY_CONNECT_TIMEOUT_S = 10


class RayExecutor:
    """Jobs as Ray tasks of one CPU each, on the cluster at ``address``.

    :param address: a cluster address (``host:port``), ``"auto"`` (the cluster this node belongs to) or
        ``"local"`` (start a one-machine cluster for this process)
    :raises ValueError: when Ray is not installed or the address does not answer
    """

    def __init__(self, address: str) -> None:
        try:
            import ray
        except ImportError:
            raise ValueError("--ray-address needs Ray: pip install 'sb3-ccddpg[ray]'") from None
        self._ray = ray
        options: dict[str, Any] = {}
        if address not in ("auto", "local"):
            host = _check_answers(address)
            if ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
                options["_node_ip_address"] = host  # a one-machine cluster on a loopback address stays on it
        os.environ.setdefault("RAY_gcs_rpc_server_connect_timeout_s", str(RAY_CONNECT_TIMEOUT_S))
        try:
            ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False, **options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ValueError(
                f"Ray address {address!r} does not answer ({error}); start a cluster with `ray start --head` "
                "and pass its address, or 'auto' on one of its nodes"
            ) from None

    def submit(self, function: Callable[..., Result], *args: Any) -> Future[Result]:
        """Run ``function(*args)`` as a task of one CPU; its future resolves to the result (or raises its error)."""
        return self._ray.remote(num_cpus=1)(function).remote(*args).future()

    def shutdown(self) -> None:
        """Disconnect from the cluster (the cluster keeps running)."""
        self._ray.shutdown()


def _check_answers(address: str) -> str:
    """The host of ``host:port`` once something listens there; a clear error at once otherwise."""
    host, separator, port = address.rpartition(":")
    if not separator or not host or not port.isdigit():
        raise ValueError(f"Ray address must be 'auto', 'local' or host:port, got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=RAY_CONNECT_TIMEOUT_S):
            return host
    except OSError as error:
        raise ValueError(
            f"Ray address {address!r} does not answer ({error}); start a cluster with `ray start --head` and pass "
            "its address, or 'auto' on one of its nodes"
        ) from None


@contextmanager
def job_executor(n_jobs: int, ray_address: str | None = None) -> Iterator[Executor | RayExecutor]:
    """An executor for a study's jobs: ``n_jobs`` local processes, or Ray tasks when ``ray_address`` is given.

    :param n_jobs: local processes at once (ignored with Ray: the cluster's CPUs decide)
    :param ray_address: ``None`` for local processes, else a Ray address (see :class:`RayExecutor`)
    :return: a context manager yielding the executor
    """
    if ray_address is None:
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            yield pool
        return
    executor = RayExecutor(ray_address)
    try:
        yield executor
    finally:
        executor.shutdown()


def add_ray_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--ray-address`` to a study's parser.

    :param parser: the study's parser
    """
    parser.add_argument(
        "--ray-address",
        help="run the jobs as tasks of this Ray cluster: host:port, 'auto' (on a cluster node) or 'local' "
        "(a one-machine cluster); the output folder must be shared by every node. Default: local processes",
    )
