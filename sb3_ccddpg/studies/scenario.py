"""The scenario of a job: the ``SatGroundConfig`` fields a command line sets besides N and μ.

Every command that builds an env takes the whole scenario: named flags for the common fields
(``--n-satellites``, ``--channels-total``, ``--reference-n-uavs``) and the rl-zoo3 convention
``--env-kwargs key:value ...`` for any other field. Values are read as YAML scalars or lists (``eq14``,
``0.1``, ``[100, 500]``, ``null``) — never evaluated — and checked by ``SatGroundConfig`` itself, so a bad
value gets the config's own message naming the field and its allowed range.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import yaml

from sb3_ccddpg.studies.reporting import write_atomically
from sb3_ccddpg_envs import SatGroundConfig

#: Fields a job holds as its own settings (``--n-uavs``, ``--mu``, ``--observe-mu``), not in ``env_kwargs``.
OWN_FIELDS = ("n_uavs", "mu", "observe_mu")


def parse_env_kwargs(items: list[str]) -> dict[str, Any]:
    """``["key:value", ...]`` → ``{key: value}`` with YAML-read values.

    :param items: ``key:value`` strings; the key is a ``SatGroundConfig`` field other than :data:`OWN_FIELDS`
    :return: the fields, checked by building a ``SatGroundConfig`` with them
    :raises ValueError: on a malformed item, an unknown or own field, or a value the config refuses
    """
    fields: dict[str, Any] = {}
    for item in items:
        key, separator, text = item.partition(":")
        if not separator or not key:
            raise ValueError(f"--env-kwargs takes key:value items, got {item!r}")
        try:
            fields[key] = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"--env-kwargs {key}: cannot read {text!r}: {error}") from None
    check_env_kwargs(fields)
    return fields


def check_env_kwargs(fields: dict[str, Any]) -> None:
    """Refuse unknown fields and :data:`OWN_FIELDS`; let ``SatGroundConfig`` check the values.

    :param fields: configuration fields
    :raises ValueError: naming the field
    """
    allowed = [name for name in SatGroundConfig.field_names() if name not in OWN_FIELDS]
    for key in fields:
        if key in OWN_FIELDS:
            raise ValueError(f"{key} is set by its own option (--{key.replace('_', '-')}), not in env_kwargs")
        if key not in allowed:
            raise ValueError(f"unknown SatGroundConfig field {key!r} in env_kwargs; allowed: {allowed}")
    SatGroundConfig(**{"n_uavs": 1, **fields})  # one UAV fits every valid channels_total


def _reference_n_uavs(text: str) -> int | None:
    if text.lower() in ("own", "none"):
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer ≥ 1 or 'own' (the configuration's own N), got {text!r}"
        ) from None


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the scenario flags (besides ``--n-uavs`` and ``--mu``, which each command adds with its own help).

    :param parser: a subcommand's parser
    """
    parser.add_argument("--n-satellites", type=int, help="M, number of satellites (default 3)")
    parser.add_argument("--channels-total", type=int, help="ξ_total, uplink channels (default 32)")
    parser.add_argument(
        "--reference-n-uavs",
        type=_reference_n_uavs,
        default=argparse.SUPPRESS,
        help="N of the equal split that fixes T_max, E_max and C6/C7 (default 11; 'own': the configuration's own N)",
    )
    parser.add_argument(
        "--env-kwargs",
        nargs="+",
        default=[],
        metavar="KEY:VALUE",
        help="any other SatGroundConfig field, e.g. data_mb_range:[100,500] energy_model:eq14",
    )


def scenario_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The ``env_kwargs`` the flags of :func:`add_scenario_arguments` set (named flags win over ``--env-kwargs``).

    :param args: parsed arguments
    :return: configuration fields other than :data:`OWN_FIELDS`
    """
    fields = parse_env_kwargs(args.env_kwargs)
    for name in ("n_satellites", "channels_total"):
        if getattr(args, name) is not None:
            fields[name] = getattr(args, name)
    if hasattr(args, "reference_n_uavs"):
        fields["reference_n_uavs"] = args.reference_n_uavs
    check_env_kwargs(fields)
    return fields


def scenario_config(n_uavs: int, env_kwargs: dict[str, Any], **own: Any) -> SatGroundConfig:
    """The configuration of a job: its N (and μ, ``observe_mu`` where it has them) over its ``env_kwargs``.

    :param n_uavs: N
    :param env_kwargs: other configuration fields (checked by :func:`check_env_kwargs`)
    :param own: ``mu`` and ``observe_mu`` where the job sets them
    :return: the configuration
    """
    check_env_kwargs(env_kwargs)
    return SatGroundConfig(**env_kwargs, n_uavs=n_uavs, **own)


def scenario_caption(config: SatGroundConfig) -> str:
    """The scenario in one line for table captions: N, M, ξ_total, μ and every field changed from its default.

    :param config: the configuration
    :return: e.g. ``"N = 8, M = 4, ξ_total = 32, μ = 0.3, data_mb_range = (100.0, 500.0)"``
    """
    default = SatGroundConfig()
    shown = ("n_uavs", "n_satellites", "channels_total", "mu")
    changed = [
        f"{name} = {getattr(config, name)}"
        for name in SatGroundConfig.field_names()
        if name not in shown and getattr(config, name) != getattr(default, name)
    ]
    head = f"N = {config.n_uavs}, M = {config.n_satellites}, ξ_total = {config.channels_total}, μ = {config.mu:g}"
    return ", ".join([head, *changed])


def pin_scenario(folder: Path, env_kwargs: dict[str, Any]) -> None:
    """Record the scenario of the results in ``folder`` (``scenario.json``); refuse to add results of another.

    A folder a rerun continues (a benchmark's rows, the figures' training runs) must hold one scenario: rows of
    two scenarios would be averaged or reused together. The first call writes the record; a later call with
    other ``env_kwargs`` raises before anything is trained or written.

    :param folder: the results folder
    :param env_kwargs: the scenario's fields other than :data:`OWN_FIELDS` (checked by :func:`check_env_kwargs`)
    :raises ValueError: naming every differing field and how to keep both results
    """
    check_env_kwargs(env_kwargs)
    scenario = dataclasses.asdict(SatGroundConfig(**{"n_uavs": 1, **env_kwargs}))
    record = json.loads(json.dumps({name: scenario[name] for name in scenario if name not in OWN_FIELDS}))
    pin_record(folder / "scenario.json", record, "results of another scenario", "rerun with the same scenario flags")


def pin_record(path: Path, record: dict[str, Any], refused: str, remedy: str) -> None:
    """Write ``record`` to ``path`` (JSON) the first time; later, refuse a record that differs from it.

    :param path: the record's file in a results folder
    :param record: JSON-able settings; a key the written record lacks (a field added since) is not compared
    :param refused: what the folder holds, for the message (e.g. ``"results of another scenario"``)
    :param remedy: what to do instead, for the message
    :raises ValueError: naming every differing key
    """
    if not path.exists():
        write_atomically(path, json.dumps(record, indent=2))
        return
    previous = json.loads(path.read_text())
    differences = [
        f"{name}: {previous[name]!r} → {value!r}"
        for name, value in record.items()
        if name in previous and previous[name] != value
    ]
    if differences:
        raise ValueError(
            f"{path.parent} holds {refused} ({'; '.join(differences)}); {remedy}, or choose another output folder for this one"
        )
