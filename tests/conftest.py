"Test settings: headless plots, one torch/BLAS thread per test worker (two workers share two cores)."
import os
os.environ.setdefault("MPLBACKEND", "Agg")
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"): os.environ.setdefault(v, "1")
os.environ.setdefault("TQDM_DISABLE", "1")

def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run notebook cells flagged `#| slow`")
