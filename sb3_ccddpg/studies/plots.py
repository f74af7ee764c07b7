"""Matplotlib figures: the paper's Figs 4–6 and the delay–energy fronts, saved atomically as PNG."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

#: The three panels of Figs 5 and 6: column of the summary table (energies in J), axis label.
PANELS = (
    ("reward", "average task reward (−objective)"),
    ("T_total", "average task delay T_total (s)"),
    ("E_total", "average task energy E_total (kJ)"),
)

#: Colour scale of μ in the trade-off plot.
MU_COLORS = "viridis"
MU_RANGE = Normalize(vmin=0.0, vmax=1.0)

#: One colour per method family in every figure: (label prefix, colour), first match wins.
METHOD_COLORS = (
    ("CC-DDPG (paper, μ-conditioned)", "tab:cyan"),
    ("CC-DDPG", "tab:blue"),
    ("oracle", "black"),
    ("GA", "tab:green"),
    ("RA", "tab:red"),
    ("equal split", "tab:gray"),
    ("DDPG (penalty)", "tab:pink"),
    ("DDPG", "tab:orange"),
    ("TD3", "tab:purple"),
    ("SAC", "tab:brown"),
)


def method_color(method: str) -> str | None:
    """The colour of a method in every figure (``None``: matplotlib's next colour)."""
    return next((color for prefix, color in METHOD_COLORS if method.startswith(prefix)), None)


def save_figure(figure: Figure, path: Path) -> Path:
    """Save a figure as PNG through a temporary file and :func:`os.replace`, then close it.

    :param figure: the figure
    :param path: destination ``.png``
    :return: the destination
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(temporary, dpi=120, bbox_inches="tight")
    plt.close(figure)
    os.replace(temporary, path)
    return path


def root_figure(axes: Axes) -> Figure:
    """The figure an Axes (e.g. one of Optuna's matplotlib plots) is drawn in."""
    figure = axes.get_figure(root=True)
    if not isinstance(figure, Figure):
        raise TypeError("the axes are not drawn in a figure")
    return figure


def training_curves(curves: pd.DataFrame, oracle_episode_reward: float, n_bins: int = 40) -> Figure:
    """Fig 4: episode reward against training steps, mean and min–max band over seeds, per method.

    :param curves: columns ``method``, ``seed``, ``step`` (steps at the episode's end), ``episode_reward``
    :param oracle_episode_reward: expected episode reward of the oracle, drawn as a horizontal line
    :param n_bins: step bins the episodes are averaged in
    :return: the figure
    """
    figure, (full, zoom) = plt.subplots(1, 2, figsize=(14, 4.8), sharex=True)
    edges = np.linspace(0, curves["step"].max(), n_bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    for method, runs in curves.groupby("method", sort=False):
        per_seed = []
        for _, run in runs.groupby("seed"):
            bins = np.digitize(run["step"], edges[1:-1])
            means = run.groupby(bins)["episode_reward"].mean().reindex(range(n_bins))
            per_seed.append(means.to_numpy())
        stacked = np.vstack(per_seed)
        label = f"{method} ({len(per_seed)} seed{'s' if len(per_seed) > 1 else ''})"
        in_zoom = "penalty" not in str(method)
        for axis in (full, zoom) if in_zoom else (full,):
            axis.plot(centres, np.nanmean(stacked, axis=0), label=label, color=method_color(str(method)))
            if len(per_seed) > 1:
                low, high = np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)
                axis.fill_between(centres, low, high, color=method_color(str(method)), alpha=0.2)
    for axis in (full, zoom):
        axis.axhline(oracle_episode_reward, color="black", linestyle="--", label="oracle (expected)")
        axis.set_xlabel("training steps (time slots)")
        axis.grid(alpha=0.3)
    full.set_ylabel("episode reward (sum over the episode's slots)")
    full.set_title("(a) every agent")
    zoom.set_title("(b) zoom: without the penalty method")
    full.legend(fontsize="small")
    figure.suptitle("Fig 4: training curves, N = 11, μ = 0.5 (band: min–max over seeds)")
    return figure


def three_panels(table: pd.DataFrame, x: str, x_label: str, title: str) -> Figure:
    """Figs 5 and 6: reward, delay and energy of every method against ``x``, with 95 % CI error bars.

    :param table: one row per (``x``, ``method``) with ``<panel>`` and ``<panel>_ci95`` columns
    :param x: column on the horizontal axis (``n_uavs`` or ``mu``)
    :param x_label: its axis label
    :param title: figure title
    :return: the figure
    """
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    for axis, (column, label) in zip(axes, PANELS, strict=True):
        for method, rows in table.groupby("method", sort=False):
            rows = rows.sort_values(x)
            unit = 1e-3 if column == "E_total" else 1.0  # J → kJ
            axis.errorbar(
                rows[x],
                unit * rows[column],
                yerr=unit * rows[f"{column}_ci95"],
                marker="o",
                capsize=3,
                label=method,
                color=method_color(str(method)),
            )
        axis.set_xlabel(x_label)
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), bbox_to_anchor=(0.5, -0.06), fontsize="small")
    figure.suptitle(title)
    figure.subplots_adjust(wspace=0.28)  # room for each panel's axis label
    return figure


def pareto_fronts(trials: pd.DataFrame, oracle: pd.DataFrame, single_state: pd.DataFrame) -> Figure:
    """The delay–energy trade-off: the study's trials against the oracle's front, and NSGA-II on one state.

    :param trials: :func:`~sb3_ccddpg.studies.tradeoff.tradeoff_table`
    :param oracle: :func:`~sb3_ccddpg.studies.tradeoff.oracle_front`
    :param single_state: :func:`~sb3_ccddpg.studies.tradeoff.nsga2_front`
    :return: the figure
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    for feasible, marker, label in ((True, "o", "CC-DDPG trials"), (False, "x", "trials violating C6/C7 (not on the front)")):
        group = trials[trials["feasible"] == feasible]
        if len(group):
            left.scatter(
                group["T_total"],
                1e-3 * group["E_total"],
                c=group["mu"],
                cmap=MU_COLORS,
                norm=MU_RANGE,
                marker=marker,
                label=label,
            )
    pareto = trials[trials["pareto"]].sort_values("T_total")
    left.plot(pareto["T_total"], 1e-3 * pareto["E_total"], "o--", mfc="none", color="crimson", label="study's Pareto front")
    left.plot(oracle["T_total"], 1e-3 * oracle["E_total"], "k.-", label="oracle over a μ grid")
    figure.colorbar(ScalarMappable(norm=MU_RANGE, cmap=MU_COLORS), ax=left, label="μ of the trial")
    left.set_title("Mean over validation states")
    nsga = single_state[single_state["source"] == "NSGA-II"].sort_values("T_total")
    exact = single_state[single_state["source"] == "oracle"].sort_values("T_total")
    right.plot(nsga["T_total"], 1e-3 * nsga["E_total"], "o", ms=3, label="NSGA-II (pymoo) non-dominated")
    right.plot(exact["T_total"], 1e-3 * exact["E_total"], "k.-", label="oracle over a μ grid")
    right.set_title("One fixed state")
    for axis in (left, right):
        axis.set_xlabel("T_total (s)")
        axis.set_ylabel("E_total (kJ)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    figure.suptitle("Delay–energy trade-off (lower left is better)")
    return figure


def quality_curves(results: pd.DataFrame) -> Figure:
    """Ratio of mean objective to the oracle against training steps: one row of panels per decision mode, one
    column per (N, μ), one colour per training variant (the same in every panel).

    :param results: rows of :mod:`sb3_ccddpg.studies.bench.quality` with ``ratio_to_oracle`` and ``equal_split_ratio``
    :return: the figure
    """
    points = sorted(results.groupby(["n_uavs", "mu"]).groups)
    decisions = list(dict.fromkeys(results["decision"]))
    labelled = results.assign(variant=_run_labels(results))
    variants = sorted(set(labelled["variant"]), key=lambda variant: (variant != "paper", variant))  # the paper's first
    colors = {variant: f"C{k}" for k, variant in enumerate(variants)}
    figure, axes = plt.subplots(
        len(decisions), len(points), figsize=(5.0 * len(points), 3.4 * len(decisions)), squeeze=False, sharex=True
    )
    for row, decision in enumerate(decisions):
        for column, (n_uavs, mu) in enumerate(points):
            axis = axes[row][column]
            rows = labelled[(labelled["n_uavs"] == n_uavs) & (labelled["mu"] == mu)]
            for variant, runs in rows[rows["decision"] == decision].groupby("variant", sort=False):
                curve = runs.groupby("steps")["ratio_to_oracle"].agg(["mean", "min", "max"])
                axis.plot(curve.index, curve["mean"], marker="o", color=colors[str(variant)], label=str(variant))
                axis.fill_between(curve.index, curve["min"], curve["max"], color=colors[str(variant)], alpha=0.15)
            axis.axhline(rows["equal_split_ratio"].iloc[0], color="grey", linestyle=":", label="equal split")
            axis.axhline(1.0, color="black", linestyle="--", label="oracle")
            axis.set_title(f"{decision}, N = {n_uavs}, μ = {mu:g}", fontsize="medium")
            axis.set_ylabel("mean objective / oracle's")
            axis.grid(alpha=0.3)
    for axis in axes[-1]:
        axis.set_xlabel("training steps")
    handles = [plt.Line2D([], [], color=colors[variant], marker="o", label=variant) for variant in variants]
    handles += [
        plt.Line2D([], [], color="grey", linestyle=":", label="equal split"),
        plt.Line2D([], [], color="black", linestyle="--", label="oracle"),
    ]
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize="small")
    figure.tight_layout(rect=(0, 0.04, 1, 0.96))
    figure.suptitle("CC-DDPG variants: gap to the exact optimum (band: min–max over seeds)")
    return figure


def _run_labels(results: pd.DataFrame) -> pd.Series:
    """A variant's name, after its agent's for agents other than CC-DDPG (rows without ``agent`` are CC-DDPG's)."""
    if "agent" not in results:
        return results["variant"]
    return results["variant"].where(results["agent"] == "ccddpg", results["agent"] + ": " + results["variant"])


#: Colours of the scale benchmark's methods (its own names).
SCALE_COLORS = {
    "exact": "black",
    "equal split": "tab:gray",
    "RA": "tab:red",
    "GA": "tab:green",
    "twin-descent": "tab:olive",
    "ccddpg-paper": "tab:cyan",
    "ccddpg": "tab:blue",
    "set-actor": "tab:purple",
    "set-exact-fill": "tab:pink",
    "set-transfer-actor": "tab:brown",
    "set-transfer-fill": "tab:orange",
    "twin-swap-descent": "darkgreen",
    "set-swap-descent": "magenta",
    "set-mixed-actor": "gold",
    "set-mixed-fill": "teal",
    "snake-deal": "sienna",
    "set-deal-actor": "navy",
    "set-deal-fill": "crimson",
    "set-deal-transfer-actor": "slateblue",
    "set-deal-transfer-fill": "salmon",
    "set-deal-mixed-actor": "darkkhaki",
    "set-deal-mixed-fill": "darkcyan",
}


def scale_curves(table: pd.DataFrame) -> Figure:
    """Scale benchmark at μ = 0.5: ratio to the certified bound against N, one panel per M, and decision time
    against N (log scale), one panel per M.

    :param table: :func:`sb3_ccddpg.studies.bench.scale.summary` rows (``ratio_to_bound``, ``decision_ms``)
    :return: the figure
    """
    rows = table[table["mu"] == 0.5]
    satellites = sorted(set(rows["n_satellites"]))
    figure, axes = plt.subplots(2, len(satellites), figsize=(4.6 * len(satellites), 7.0), squeeze=False, sharex=True)
    for column, n_satellites in enumerate(satellites):
        at_m = rows[rows["n_satellites"] == n_satellites]
        for method, color in SCALE_COLORS.items():
            curve = at_m[at_m["method"] == method].sort_values("n_uavs")
            if curve.empty:
                continue
            axes[0][column].plot(curve["n_uavs"], curve["ratio_to_bound"], marker="o", color=color, label=method)
            axes[1][column].plot(curve["n_uavs"], curve["decision_ms"], marker="o", color=color, label=method)
        axes[0][column].axhline(1.0, color="black", linestyle=":", linewidth=0.8)
        axes[0][column].set_title(f"M = {n_satellites}", fontsize="medium")
        axes[0][column].set_ylabel("mean objective / lower bound")
        axes[1][column].set_yscale("log")
        axes[1][column].set_ylabel("ms per decision")
        axes[1][column].set_xlabel("N (UAVs), ξ_total = max(32, 3N)")
        for axis in axes[:, column]:
            axis.grid(alpha=0.3, which="both")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize="small")
    figure.tight_layout(rect=(0, 0.05, 1, 0.95))
    figure.suptitle("Every method from N = 6 to 64 against a certified lower bound (μ = 0.5, own-N normalisers)")
    return figure


#: Twin benchmark: colour and line style per method (search on the twin solid, trained dashed).
TWIN_STYLES = {
    "clairvoyant oracle": ("black", ":"),
    "oracle (plug-in)": ("black", "-"),
    "equal split": ("tab:gray", "-"),
    "twin-descent": ("tab:orange", "-"),
    "twin-robust": ("tab:green", "-"),
    "ccddpg actor": ("tab:blue", "--"),
    "ccddpg twin-descent": ("tab:orange", "--"),
    "ccddpg twin-robust": ("tab:green", "--"),
}


def twin_curves(table: pd.DataFrame) -> Figure:
    """Twin benchmark: ratio to the clairvoyant optimum against the twin error σ, one column per μ; per N a row
    with every method and a row zoomed on the decisions that search on the twin (no equal split, no actor alone).

    :param table: :func:`sb3_ccddpg.studies.bench.twin.summary` rows (``ratio``, ``ratio_low``, ``ratio_high``)
    :return: the figure
    """
    sizes, mus = sorted(set(table["n_uavs"])), sorted(set(table["mu"]))
    unsearched = ("equal split", "ccddpg actor")
    figure, axes = plt.subplots(2 * len(sizes), len(mus), figsize=(4.6 * len(mus), 7.0 * len(sizes)), squeeze=False)
    for row, n_uavs in enumerate(sizes):
        for column, mu in enumerate(mus):
            at_cell = table[(table["n_uavs"] == n_uavs) & (table["mu"] == mu)]
            for zoomed, axis in enumerate((axes[2 * row][column], axes[2 * row + 1][column])):
                for method, (color, style) in TWIN_STYLES.items():
                    curve = at_cell[at_cell["method"] == method].sort_values("sigma")
                    if curve.empty or (zoomed and method in unsearched):
                        continue
                    axis.plot(curve["sigma"], curve["ratio"], marker="o", color=color, linestyle=style, label=method)
                    if (curve["ratio_high"] > curve["ratio_low"]).any():
                        axis.fill_between(curve["sigma"], curve["ratio_low"], curve["ratio_high"], color=color, alpha=0.15)
                scope = "searching decisions" if zoomed else "every method"
                axis.set_title(f"N = {n_uavs}, μ = {mu:g}: {scope}", fontsize="medium")
                axis.set_xlabel("twin error σ (relative std of the twin's data sizes)")
                axis.set_ylabel("mean objective / clairvoyant optimum")
                axis.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=4, fontsize="small")
    figure.tight_layout(rect=(0, 0.06, 1, 0.96))
    figure.suptitle("Deciding on a wrong twin: every method on the twin's view, scored on the true state")
    return figure
