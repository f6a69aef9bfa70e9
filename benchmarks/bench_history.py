"""Superseded by the suite: B4 (`b4_lag.py`) and B6 (`b6_history.py`), run by `run.py`.

The data set moved to `datasets.py`; this module re-exports it for code that imports
``bench_history.bulk_load`` and its companions.
"""

from __future__ import annotations

from datasets import (
    OFFICE,
    PARTNERS,
    SECRET,
    START,
    Baseline,
    bulk_load,
    es_env,
    percentile,
    store,
)

__all__ = [
    "OFFICE",
    "PARTNERS",
    "SECRET",
    "START",
    "Baseline",
    "bulk_load",
    "es_env",
    "percentile",
    "store",
]
