"""Benchmarks of Vitrine against the bars of QUALITY.md: `python -m bench.run` (see bench/run.py)."""

import os
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Importing the portal creates its job queue in the instance folder: keep the benchmarks' own files apart
# from a developer's instance unless one is given explicitly.
os.environ.setdefault("PORTAL_INSTANCE_PATH", str(RESULTS_DIR / "instance"))
