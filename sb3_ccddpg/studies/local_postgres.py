"""A throwaway local PostgreSQL server for distributed Optuna studies (Debian's ``postgresql`` package).

``python -m sb3_ccddpg.studies.local_postgres start DIR`` creates a cluster in ``DIR`` (trust authentication,
listening on 127.0.0.1 only) and prints the URL to pass as ``sb3-ccddpg tune --storage``;
``python -m sb3_ccddpg.studies.local_postgres stop DIR`` stops it. The tests start one the same way. As root the
server runs as the ``postgres`` user the package creates (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
from pathlib import Path

DEFAULT_PORT = 5433


def server_binaries() -> Path | None:
    """The folder of the newest installed server's ``initdb`` and ``pg_ctl``, or ``None`` when absent."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    return found[-1].parent if found else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def start(directory: Path, port: int = DEFAULT_PORT) -> str:
    """Create (if needed) and start a cluster in ``directory``.

    :param directory: cluster folder (created; owned by ``postgres`` when run as root)
    :param port: TCP port on 127.0.0.1
    :return: the connection URL
    :raises FileNotFoundError: when the server is not installed
    """
    binaries = server_binaries()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL server not installed: apt-get install postgresql")
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    data = directory / "data"
    if not data.exists():
        command = [str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
        subprocess.run([*_as_server_user(), *command], check=True, capture_output=True)
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1"
    command = [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"), "-o", options, "-w", "start"]
    subprocess.run([*_as_server_user(), *command], check=True, capture_output=True)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def stop(directory: Path) -> None:
    """Stop the cluster in ``directory`` (immediately; the studies in it are kept).

    :param directory: cluster folder given to :func:`start`
    """
    binaries = server_binaries()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL server not installed: apt-get install postgresql")
    command = [str(binaries / "pg_ctl"), "-D", str(directory / "data"), "-m", "fast", "-w", "stop"]
    subprocess.run([*_as_server_user(), *command], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sb3_ccddpg.studies.local_postgres", description=__doc__)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("directory", type=Path, help="cluster folder")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port on 127.0.0.1")
    args = parser.parse_args()
    if args.action == "start":
        print(start(args.directory.resolve(), args.port))
    else:
        stop(args.directory.resolve())


if __name__ == "__main__":
    main()
