"""Open an Optuna storage safely: never write into a file that is not an Optuna study store.

Optuna would happily add its tables to any SQLite file and append to any text file; a mistyped ``--storage``
must not damage someone's data, so existing files are checked (read-only) before Optuna opens them.
Relational storages get heartbeats, so a trial whose worker died is marked failed and retried once by the
next worker (``optuna.storages.RetryHeartbeatStaleTrialCallback``).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend

SQLITE_HEADER = b"SQLite format 3\x00"
#: Tables every Optuna RDB storage has.
OPTUNA_TABLES = {"studies", "trials", "version_info"}
#: Attempts to open a relational storage whose tables another worker may be creating at the same moment.
SCHEMA_ATTEMPTS = 5
#: Seconds between a running trial's heartbeats; a trial without one for 3 intervals counts as dead.
HEARTBEAT_INTERVAL = 10


def check_sqlite_file(path: Path) -> None:
    """Refuse a file that exists and is not an Optuna SQLite storage.

    :param path: the database file
    :raises ValueError: naming the file and what it is instead
    """
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise ValueError(f"--storage {path} exists and is not a SQLite database; it was left untouched")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise ValueError(f"--storage {path} is a corrupt SQLite database ({error}); it was left untouched") from None
    if not OPTUNA_TABLES <= tables:
        raise ValueError(
            f"--storage {path} is a SQLite database of something else (tables {sorted(tables)}), not an Optuna "
            "study; it was left untouched"
        )


def check_journal_file(path: Path) -> None:
    """Refuse a file that exists and is not an Optuna journal (one JSON object per line).

    :param path: the journal file
    :raises ValueError: naming the file and the first bad line
    """
    if not path.exists():
        return
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                record = None
            if not isinstance(record, dict) or "op_code" not in record:
                raise ValueError(f"--storage {path} is not an Optuna journal (line {number}); it was left untouched")


def open_storage(storage: str | None, output: Path, heartbeat_interval: int = HEARTBEAT_INTERVAL) -> BaseStorage:
    """The storage of a study.

    :param storage: an RDB URL (``sqlite:///path.db``, ``postgresql://user:password@host/db``), a path to a
        JournalStorage file (``*.log``, ``*.jsonl``), or ``None`` for ``sqlite:///<output>/study.db``
    :param output: the study's result folder
    :param heartbeat_interval: seconds between heartbeats of a running trial (relational storages); a trial
        silent for three intervals is marked failed and retried once
    :return: the storage, with heartbeats for relational ones
    :raises ValueError: when an existing file is not an Optuna storage
    """
    if storage is None:
        storage = f"sqlite:///{output / 'study.db'}"
    if "://" not in storage:
        path = Path(storage)
        if path.suffix not in {".log", ".jsonl"}:
            raise ValueError(
                f"--storage must be an RDB URL (sqlite:///study.db, postgresql://...) or a journal file ending in "
                f".log or .jsonl, got {storage!r}"
            )
        check_journal_file(path)
        return JournalStorage(JournalFileBackend(str(path)))
    if storage.startswith("sqlite:///"):
        check_sqlite_file(Path(storage.removeprefix("sqlite:///")))
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return _relational_storage(storage, heartbeat_interval)
        except sqlalchemy.exc.IntegrityError:
            # Workers started together on an empty database race to create Optuna's tables; the loser finds
            # them created on its next attempt.
            if attempt == SCHEMA_ATTEMPTS - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
        except (optuna.exceptions.StorageInternalError, ValueError, ImportError) as error:
            raise ValueError(f"--storage {storage}: cannot open it as an Optuna storage ({error})") from None
    raise AssertionError("unreachable")


def _relational_storage(url: str, heartbeat_interval: int) -> RDBStorage:
    with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna 5
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RDBStorage(
            url,
            heartbeat_interval=heartbeat_interval,
            grace_period=3 * heartbeat_interval,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
            engine_kwargs={"pool_pre_ping": True},
        )


#: Study settings that may change between calls continuing one study (they do not change what a trial is).
PER_CALL_SETTINGS = ("n_trials", "timeout", "n_jobs")


def study_record(settings: object, config: object) -> dict[str, Any]:
    """What makes a study's trials comparable: its scenario (every configuration field) and search settings.

    :param settings: the study's settings dataclass (:data:`PER_CALL_SETTINGS` are left out)
    :param config: the configuration every trial is scored on (a dataclass)
    :return: a JSON-able record ``{"scenario": {...}, "search": {...}}``
    """
    search = {
        name: value
        for name, value in dataclasses.asdict(settings).items()  # type: ignore[call-overload]
        if name not in PER_CALL_SETTINGS and name not in ("env_kwargs", "n_uavs", "mu")
    }
    record = {"scenario": dataclasses.asdict(config), "search": search}  # type: ignore[call-overload]
    return json.loads(json.dumps(record))  # tuples become lists, as the storage returns them


def pin_study_record(study: optuna.Study, record: dict[str, Any]) -> None:
    """Record a new study's scenario and search settings; refuse to continue one started with others.

    A study's trials are compared by their objective, whose scale depends on the scenario (N, the
    normalisers, ...): continuing it with other settings would rank trials of two problems together.
    Studies written before the record existed get it on their next call.

    :param study: the study, new or loaded
    :param record: :func:`study_record` of this call
    :raises ValueError: naming every difference and how to start a new study instead
    """
    previous = study.user_attrs.get("settings")
    if previous is None:
        study.set_user_attr("settings", record)
        study.set_user_attr("command", " ".join(sys.argv))
        return
    differences = [
        f"{part}.{name}: {previous[part].get(name)!r} → {record[part].get(name)!r}"
        for part in ("scenario", "search")
        for name in sorted(set(previous.get(part, {})) | set(record[part]))
        if previous.get(part, {}).get(name) != record[part].get(name)
    ]
    if differences:
        raise ValueError(
            f"study {study.study_name!r} was started with other settings ({'; '.join(differences)}); continue it with "
            "the same ones, or start a new study with another --study-name (or --output/--storage)"
        )
