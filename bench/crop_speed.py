"""Benchmark: cropping speed (crops/s) on quick-size fields, from the plate's truth masks.

Run: .venv/bin/python bench/crop_speed.py [--fields 8]
"""
import argparse, os, platform, shutil, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit
from gradcamo.synth import make_config, synth_plate
from gradcamo.crop import crop_plate

ap = argparse.ArgumentParser(); ap.add_argument("--fields", type=int, default=8, help="fields (2 sites per well, 4 treatments)")
a = ap.parse_args()
tmp = tempfile.mkdtemp()
cfg = make_config("quick", seed=7, wells_per_treatment=max(1, a.fields//8), sites_per_well=2)
table = synth_plate(f"{tmp}/plate", cfg, n_jobs=2, progress=False)
t0 = time.perf_counter()
cells = crop_plate(table, f"{tmp}/work", masks_dir=f"{tmp}/plate/truth/labels", progress=False)
dt = time.perf_counter() - t0
n_fields = len(cells.Metadata_Key.unique())
print(f"machine: {platform.machine()}, {os.cpu_count()} cores; quick fields {cfg.field_shape}, {n_fields} fields")
print(f"crop_plate: {len(cells)} crops in {dt:.1f} s = {len(cells)/dt:.1f} crops/s ({dt/n_fields:.2f} s/field), store written")
emit("crop", crops=len(cells), seconds=dt, crops_per_s=len(cells)/dt, fields=n_fields)
shutil.rmtree(tmp)
