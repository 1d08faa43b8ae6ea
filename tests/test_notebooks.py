"""Run every notebook in nbs/ as a test (nbdev's runner, tiny parameters), and check the library is in sync with them.

The notebooks hold the tests (cells under each exported function). Cells flagged with a `tst_flags` flag from
pyproject.toml (`#| slow`) are skipped here; `pytest --run-slow` runs them too.
"""
import filecmp, shutil, subprocess, sys
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook

ROOT = Path(__file__).resolve().parents[1]
CFG = get_config(ROOT)
NBS = sorted((ROOT/"nbs").glob("*.ipynb"))

def test_there_are_notebooks():
    assert len(NBS) >= 4, NBS

@pytest.mark.parametrize("nb", NBS, ids=[p.stem for p in NBS])
def test_notebook(nb, request):
    skip = CFG.tst_flags.split() if isinstance(CFG.tst_flags, str) else list(CFG.tst_flags)
    force = skip if request.config.getoption("--run-slow") else []
    ok, secs = run_notebook(nb, skip_flags=skip, force_flags=force, basepath=str(ROOT), profile=False)
    assert ok, f"{nb.name} failed (its traceback is printed above)"

def test_library_in_sync_with_notebooks(tmp_path):
    "nbdev-export into a copy of the project leaves gradcamo/ unchanged: nobody edited the library by hand."
    for p in ("nbs", "gradcamo"): shutil.copytree(ROOT/p, tmp_path/p, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT/"pyproject.toml", tmp_path/"pyproject.toml")
    exe = Path(sys.executable).with_name("nbdev-export")
    subprocess.run([str(exe)], cwd=tmp_path, check=True, capture_output=True)
    cmp = filecmp.dircmp(ROOT/"gradcamo", tmp_path/"gradcamo", ignore=["__pycache__"])
    assert not (cmp.diff_files or cmp.left_only or cmp.right_only), (cmp.diff_files, cmp.left_only, cmp.right_only)
