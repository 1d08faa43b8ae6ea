"""Benchmark: gradcamo's segmentation path vs a bare CellposeModel.eval on the same stacks (goal: overhead <= 10%).

Project path = `gradcamo.segment.segment` per field: read the TIFF, build the cellpose input, eval, drop slivers,
relabel, write the mask atomically, record the count. Bare = `CellposeModel.eval` with the same arguments on stacks
already in memory. Both use the same cached offline segmenter.

Run: .venv/bin/python bench/segment_overhead.py [--preset quick] [--fields 6] [--epochs 30]
"""
import argparse, os, platform, shutil, tempfile, time
import numpy as np, pandas as pd
import sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit
from gradcamo.data import Plate, PRESETS
from gradcamo.synth import make_config, synth_plate
from gradcamo.segment import load_model, seg_input, segment

ap = argparse.ArgumentParser()
ap.add_argument("--preset", default="quick"); ap.add_argument("--fields", type=int, default=6)
ap.add_argument("--epochs", type=int, default=PRESETS["quick"]["seg_epochs"]); ap.add_argument("--cache", default=None)
a = ap.parse_args()
tmp = tempfile.mkdtemp()
cfg = make_config(a.preset, seed=5)
table = synth_plate(f"{tmp}/plate", cfg, n_jobs=2, progress=False)
pl = Plate(table)
sub = pl.fields.iloc[:a.fields].drop(columns=["abspath", "key"])
sub.to_csv(f"{tmp}/plate/metadata_sub.csv", index=False)
model, diam = load_model("synthetic", "cell", a.cache, "quick", 1000, a.epochs, progress=True)
stacks = [seg_input(pl.read(i), pl.channels) for i in range(a.fields)]
kw = dict(channels=[1, 2], channel_axis=1, z_axis=0, diameter=diam, batch_size=32, bsize=128, resample=False,
          do_3D=False, stitch_threshold=0.25)
model.eval(stacks[0], **kw)                       # warm-up
t0 = time.perf_counter()
for x in stacks: model.eval(x, **kw)
bare = (time.perf_counter() - t0)/a.fields
t0 = time.perf_counter()
segment(f"{tmp}/plate/metadata_sub.csv", f"{tmp}/work", cache=a.cache, seg_epochs=a.epochs, progress=False)
proj = (time.perf_counter() - t0)/a.fields
print(f"machine: {platform.machine()}, {os.cpu_count()} cores; preset {a.preset}, field {cfg.field_shape}, {a.fields} fields")
print(f"bare CellposeModel.eval : {bare:.2f} s/field")
print(f"gradcamo segment        : {proj:.2f} s/field (model load included)")
print(f"overhead                : {100*(proj/bare - 1):+.1f}%  (goal <= 10%)")
shutil.rmtree(tmp)
emit("segment", preset=a.preset, fields=a.fields, bare_s_per_field=bare, project_s_per_field=proj, overhead=proj/bare - 1)
