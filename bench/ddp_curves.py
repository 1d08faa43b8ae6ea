"""Benchmark: how far a DDP training curve lies from a one-process one (#18 item 2), against the seed-to-seed spread.

The 3D EfficientNet on a synthetic plate's crops (preset quick), `gradcamo train` with the same global batch (16) in 1
process and in 2 (`--nproc 2`, torchrun, gloo on CPU), for seeds 0..S-1. BatchNorm pools its statistics over the
processes (`PooledBatchNorm3d`; 04_train checks one step against one process exactly, dropout off), but each process
draws the dropout and drop-connect of its half from its own seed, and float sums run in another order, so the curves
cannot be identical; the question is whether 2 processes move a curve more than another seed does.

Reported: per epoch, |train loss(2 proc) - train loss(1 proc)| at the same seed, against |train loss(seed a) - train
loss(seed b)| over the pairs of 1-process runs; the same for test balanced accuracy; final test accuracy of each run.

Run: python bench/ddp_curves.py [--preset quick] [--seeds 3] [--out bench/DDP.md]
"""
import argparse, itertools, os, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine, emit
from gradcamo.crop import synthetic_crops
from gradcamo.train import linked_work
from gradcamo.data import PRESETS

ap = argparse.ArgumentParser()
ap.add_argument("--preset", default="quick"); ap.add_argument("--seeds", type=int, default=3); ap.add_argument("--out", default=None)
ap.add_argument("--batch-size", type=int, default=16, help="the global batch (each of 2 processes takes half)")
a = ap.parse_args()
t_all = time.perf_counter()
root = Path(os.environ.get("GRADCAMO_BENCH_DIR") or tempfile.mkdtemp())
work = synthetic_crops(root, a.preset, 0)
ep = PRESETS[a.preset]["epochs"]
runs = {}
for s in range(a.seeds):
    for n in (1, 2):
        w = linked_work(work, Path(tempfile.mkdtemp())/f"s{s}n{n}")
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "gradcamo.cli", "train", str(w), "--preset", a.preset, "--seed", str(s), "--nproc", str(n), "--batch-size", str(a.batch_size), "--quiet"],
                           capture_output=True, text=True)
        if r.returncode: sys.exit(r.stderr[-3000:])
        runs[s, n] = pd.read_csv(w/"train"/"history.csv").assign(wall_s=time.perf_counter() - t0)
        print(f"seed {s}, {n} process(es): final test acc {runs[s, n].test_acc.iloc[-1]:.3f}, {runs[s, n].wall_s.iloc[0]:.0f} s", flush=True)

def gap(col, pairs): return np.array([np.abs(runs[p].sort_values("epoch")[col].to_numpy() - runs[q].sort_values("epoch")[col].to_numpy()) for p, q in pairs])
ddp_pairs = [((s, 1), (s, 2)) for s in range(a.seeds)]
seed_pairs = [((s, 1), (t, 1)) for s, t in itertools.combinations(range(a.seeds), 2)]
rows = []
for col in ("train_loss", "test_acc"):
    d, sd = gap(col, ddp_pairs), gap(col, seed_pairs)
    rows.append(dict(measure=col, ddp_vs_one_mean=d.mean(), ddp_vs_one_max=d.max(), seed_vs_seed_mean=sd.mean(), seed_vs_seed_max=sd.max(),
                     ratio=d.mean()/sd.mean()))
tab = pd.DataFrame(rows)
fin = pd.DataFrame([dict(seed=s, one_process=runs[s, 1].test_acc.iloc[-1], two_processes=runs[s, 2].test_acc.iloc[-1]) for s in range(a.seeds)])
def md_table(df: pd.DataFrame) -> str:
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
    return "\n".join(["| " + " | ".join(df.columns) + " |", "|" + "---|"*len(df.columns)] + ["| " + " | ".join(fmt(v) for v in r) + " |" for r in df.itertuples(index=False)])
m = machine()
md = [f"# DDP training curves against one process (#18 item 2)", "",
      f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `python bench/ddp_curves.py --preset {a.preset} --seeds {a.seeds} --batch-size {a.batch_size}` in "
      f"{(time.perf_counter() - t_all)/60:.1f} min on {m['cpu']}, {m['cores']} cores (torch {m['torch']}); gloo, "
      f"{ep} epochs of `gradcamo train` (batch {a.batch_size} in all: {a.batch_size//2} per process with `--nproc 2`), seeds 0..{a.seeds - 1}.", "",
      "Mean and largest absolute difference per epoch: 2 processes vs 1 at the same seed, and 1-process runs of two different seeds.", "",
      md_table(tab), "", "Final test balanced accuracy:", "", md_table(fin), "",
      f"Tolerance read off this run: a 2-process curve differs from the 1-process curve of its seed by {tab.ratio[0]:.2f}x (train loss) and "
      f"{tab.ratio[1]:.2f}x (test accuracy) what another seed's 1-process curve does.", ""]
text = "\n".join(md)
print(text)
if a.out: Path(a.out).write_text(text)
emit("ddp", **{f"{r.measure}_ratio": r.ratio for r in tab.itertuples()})
