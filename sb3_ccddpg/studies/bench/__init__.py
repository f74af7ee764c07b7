"""Benchmarks behind ``sb3-ccddpg bench``: ratios against a reference measured in the same run."""
