"""Studies: jobs that train agents, score them and the solvers with the common harness, and report.

Each module is one job of the ``sb3-ccddpg`` command line (``train``, ``compare``, ``figures``, ``tune`` and
the trade-off study, ``bench``) or a piece they share (run folders, Optuna storage, plots, tables).
"""
