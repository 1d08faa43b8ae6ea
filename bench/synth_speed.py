"""Benchmark: synthetic plate generation, seconds per field for each preset (one process, and the CLI's 2 jobs).

Run: .venv/bin/python bench/synth_speed.py [--fields N]
"""
import argparse, os, platform, shutil, tempfile, time
import sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit
from gradcamo.synth import make_config, plate_layout, synth_field, synth_plate

ap = argparse.ArgumentParser(); ap.add_argument("--fields", type=int, default=3, help="fields timed per preset")
a = ap.parse_args()
print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
print(f"{'preset':8} {'field (Z,Y,X)':>16} {'cells/field':>11} {'s/field':>8} {'fields':>7} {'plate est. (2 jobs)':>20}")
for preset in ("tiny", "quick", "paper"):
    cfg = make_config(preset); lay = plate_layout(cfg)
    ts, ns = [], []
    for i in range(min(a.fields, len(lay))):
        t0 = time.perf_counter(); r = synth_field(cfg, lay.iloc[i], i); ts.append(time.perf_counter() - t0); ns.append(r[4]["n_cells"])
    spf = sum(ts)/len(ts)
    emit("synth", preset=preset, s_per_field=spf, cells_per_field=sum(ns)/len(ns), fields=len(lay))
    print(f"{preset:8} {str(cfg.field_shape):>16} {sum(ns)/len(ns):11.1f} {spf:8.2f} {len(lay):7d} {spf*len(lay)/2/60:17.1f} min")
d = tempfile.mkdtemp()
t0 = time.perf_counter(); synth_plate(d, make_config("tiny"), n_jobs=2, progress=False)
print(f"whole tiny plate, written, 2 jobs: {time.perf_counter() - t0:.1f} s")
shutil.rmtree(d)
