"""Test settings: headless plots, one torch/BLAS thread per test worker (two workers share two cores), and a private
temp folder per test.

The notebooks write their data into `tempfile.mkdtemp()` folders (their `out_dir`/`fig_dir` defaults) and start
subprocesses that do the same. Each test gets its own temp folder (`tempfile.tempdir` for the notebook, which runs in
this process, and `TMPDIR` for its subprocesses) under pytest's `tmp_path`, which pytest deletes when the test passes
(`tmp_path_retention_policy = "failed"` in pyproject.toml; the fixture below also removes it itself, because pytest left the
last test of each worker behind). Without this a full run left about 5 GB in /tmp and a CI
machine's disk filled up part-way through the suite.
"""
import os, shutil, tempfile
import pytest
os.environ.setdefault("MPLBACKEND", "Agg")
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"): os.environ.setdefault(v, "1")
os.environ.setdefault("TQDM_DISABLE", "1")

def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run notebook cells flagged `#| slow`")

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if rep.when == "call": item.gradcamo_failed = rep.failed
    return rep

@pytest.fixture(autouse=True)
def private_tmpdir(tmp_path, monkeypatch, request):
    d = tmp_path/"tmp"; d.mkdir()
    monkeypatch.setenv("TMPDIR", str(d))
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    yield d
    if not getattr(request.node, "gradcamo_failed", True): shutil.rmtree(d, ignore_errors=True)   # kept only when the test failed
