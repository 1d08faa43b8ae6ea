"""How small a compressed, chunked crop store could be, and whether it still reads faster than training consumes (#18 item 3).

Measures the quick plate's crops (`synthetic_crops`: the images and label crops of `03_crop`, float16 / uint8) written as
today's `.npy` memmaps and as zarr v3 arrays with one chunk per crop under several codecs: bytes on disk, and crops/s
read in shuffled batches of 16 (as training reads them), against the training step's crops/s measured in the same run.
Storage is lossless (the float16 crops as they are), so normalisation is unchanged.

Run: .venv/bin/python bench/crop_store.py [--preset quick] [--batches 40]
"""
import argparse, os, shutil, tempfile, time
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
import sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit
from gradcamo.crop import synthetic_crops, CropStore
from gradcamo.train import make_model, prep
from gradcamo.data import PRESETS

ap = argparse.ArgumentParser(); ap.add_argument("--preset", default="quick"); ap.add_argument("--batches", type=int, default=40)
a = ap.parse_args()
import zarr
from zarr.codecs import BloscCodec, ZstdCodec, BytesCodec
own = not os.environ.get("GRADCAMO_BENCH_DIR"); root = os.environ.get("GRADCAMO_BENCH_DIR") or tempfile.mkdtemp(prefix="crop-store-data-")
work = synthetic_crops(root, a.preset, 0)
store = CropStore(work); n = len(store)
tmp = tempfile.mkdtemp(prefix="crop-store-")
def du(p):
    p = Path(p); return p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
rng = np.random.default_rng(0)
batches = [np.sort(rng.choice(n, 16, replace=False)) for _ in range(a.batches)]
def read_rate(get):
    get(batches[0]); t0 = time.perf_counter()
    for b in batches: get(b)
    return 16*len(batches)/(time.perf_counter() - t0)
rows = [dict(store="npy (today)", bytes=du(store.dir/"images.npy") + du(store.dir/"labels.npy"),
             crops_per_s=read_rate(lambda b: (np.asarray(store.images[b]), np.asarray(store.labels[b]))))]
codecs = {"zstd 1": [ZstdCodec(level=1)], "zstd 5": [ZstdCodec(level=5)],
          "blosc zstd 5 + shuffle": [BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")],
          "blosc lz4 5 + shuffle": [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")]}
for name, comp in codecs.items():
    d = f"{tmp}/{name.replace(' ', '_').replace('+', '')}.zarr"
    g = zarr.open_group(d, mode="w")
    im = g.create_array("images", shape=store.images.shape, dtype=store.images.dtype, chunks=(1,) + store.images.shape[1:], compressors=comp)
    lb = g.create_array("labels", shape=store.labels.shape, dtype=store.labels.dtype, chunks=(1,) + store.labels.shape[1:], compressors=comp)
    t0 = time.perf_counter()
    for i in range(0, n, 64): im[i:i + 64] = np.asarray(store.images[i:i + 64]); lb[i:i + 64] = np.asarray(store.labels[i:i + 64])
    w_s = time.perf_counter() - t0
    assert np.array_equal(im[:8], np.asarray(store.images[:8]))          # lossless
    rows.append(dict(store=f"zarr v3, a chunk per crop, {name}", bytes=du(d), crops_per_s=read_rate(lambda b: (im.get_orthogonal_selection((b,)), lb.get_orthogonal_selection((b,)))),
                     write_crops_per_s=n/w_s))
torch.manual_seed(0); model = make_model(3); opt = torch.optim.AdamW(model.parameters(), 1e-3); model.train()
x = prep(torch.from_numpy(np.asarray(store.images[batches[0]], np.float32)), PRESETS[a.preset]["scale"]); t = torch.zeros(16, dtype=torch.long)
def step(): loss = F.cross_entropy(model(x), t); opt.zero_grad(); loss.backward(); opt.step()
step(); t0 = time.perf_counter()
for _ in range(5): step()
step_rate = 5*16/(time.perf_counter() - t0)
base = rows[0]["bytes"]
print(f"{n} crops of {store.images.shape[1:]} ({a.preset}); a training step consumes {step_rate:.1f} crops/s (CPU, {torch.get_num_threads()} threads)")
print(f"{'store':50s} {'MB':>8s} {'x smaller':>9s} {'read crops/s':>12s} {'x step':>7s}")
for r in rows:
    print(f"{r['store']:50s} {r['bytes']/1e6:8.1f} {base/r['bytes']:9.2f} {r['crops_per_s']:12.0f} {r['crops_per_s']/step_rate:7.0f}")
emit("crop_store", n_crops=n, step_crops_per_s=step_rate, rows=rows)
shutil.rmtree(tmp, ignore_errors=True)
if own: shutil.rmtree(root, ignore_errors=True)
