"""How small a compressed, chunked crop store could be, and whether it still reads faster than training consumes (#18 item 3).

Measures the quick plate's crops (`synthetic_crops`: the images and label crops of `03_crop`, float16 / uint8) written as
today's `.npy` memmaps and as zarr v3 arrays with one chunk per crop under several codecs: bytes on disk, and crops/s
read in shuffled batches of 16 (as training reads them), against the training step's crops/s measured in the same run.
The lossless rows store the float16 crops as they are. The lossy rows quantise the normalised intensities to a fixed
step of 2^-k (int16 codes, the step in the array's attributes: plain zarr v3, no codec outside the specification),
then compress: their error is measured three ways, against the crops' own noise (the voxel-to-voxel noise outside
the cells, from first differences along x), and as what a trained model makes of them: the same model (trained
`--train-epochs` on the exact crops) scored with Grad-CAMO on the test cells from the exact and from the decoded crops.

The row naming `crop_plate` is the store the pipeline writes (`gradcamo crop --store zarr`), read by `CropStore.read`.

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
ap.add_argument("--steps", type=int, nargs="+", default=[6, 8, 10], help="lossy rows: quantisation step 2^-k for each k")
ap.add_argument("--train-epochs", type=int, default=2)
ap.add_argument("--out", default=None, help="also write this markdown file (e.g. bench/STORE.md)")
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
# the crops' own noise: voxel-to-voxel differences along x outside the cells (std / sqrt 2), median over crops and channels
sig = []
for i in range(0, n, 64):
    xi, li = np.asarray(store.images[i:i + 64], np.float32), np.asarray(store.labels[i:i + 64])
    dx, bg = np.diff(xi, axis=-1), ((li[..., 1:] == 0) & (li[..., :-1] == 0))[:, None]
    sig += [np.std(dx[j, c][bg[j, 0]])/np.sqrt(2) for j in range(len(xi)) for c in range(xi.shape[1]) if bg[j, 0].sum() > 100]
noise = float(np.median(sig))
blosc = [BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")]
decoded = {}
for k in a.steps:
    d = f"{tmp}/q{k}.zarr"; g = zarr.open_group(d, mode="w"); step = 2.0**-k
    im = g.create_array("images", shape=store.images.shape, dtype="int16", chunks=(1,) + store.images.shape[1:], compressors=blosc)
    im.attrs["scale"] = step                                    # value = code * scale
    lb = g.create_array("labels", shape=store.labels.shape, dtype=store.labels.dtype, chunks=(1,) + store.labels.shape[1:], compressors=blosc)
    err_max, err_sq, cnt = 0.0, 0.0, 0
    t0 = time.perf_counter()
    for i in range(0, n, 64):
        xi = np.asarray(store.images[i:i + 64], np.float32)
        q = np.clip(np.round(xi/step), -32768, 32767).astype(np.int16); im[i:i + 64] = q; lb[i:i + 64] = np.asarray(store.labels[i:i + 64])
        e = q.astype(np.float32)*np.float32(step) - xi; err_max = max(err_max, float(np.abs(e).max())); err_sq += float((e**2).sum()); cnt += e.size
    w_s = time.perf_counter() - t0
    dec = lambda b: (im.get_orthogonal_selection((b,)).astype(np.float32)*np.float32(step), lb.get_orthogonal_selection((b,)))   # float32, as training takes them (CropStore[...])
    rows.append(dict(store=f"zarr v3, a chunk per crop, int16 step 2^-{k} (lossy), blosc zstd 5 + shuffle", bytes=du(d), crops_per_s=read_rate(dec),
                     write_crops_per_s=n/w_s, err_max=err_max, err_rms_over_noise=float(np.sqrt(err_sq/cnt))/noise))
    decoded[k] = dec(np.arange(n))[0]
# the store the pipeline writes: `crop_plate(store="zarr")` on the same plate and masks (it quantises the float32 crops, not
# the float16 ones), read by `CropStore.read`, the path training and scoring take
from gradcamo.crop import crop_plate, synthetic_names, ZARR_STEP
from gradcamo.synth import synth_plate
plate, _, cfg = synthetic_names(root, a.preset, 0); table = synth_plate(plate, cfg, n_jobs=2, progress=False)
zw = Path(tmp)/"work_zarr"; t0 = time.perf_counter()
crop_plate(table, zw, masks_dir=Path(table).parent/"truth"/"labels", store="zarr", progress=False); crop_s = time.perf_counter() - t0
zs = CropStore(zw); assert zs.fmt == "zarr" and zs.table.crop_index.equals(store.table.crop_index)
err_max, err_sq, cnt = 0.0, 0.0, 0
for i in range(0, n, 64):
    j = np.arange(i, min(i + 64, n)); e = zs.read(j)[0] - np.asarray(store.images[j], np.float32)
    err_max = max(err_max, float(np.abs(e).max())); err_sq += float((e**2).sum()); cnt += e.size
rows.append(dict(store=f"the pipeline's zarr store (`crop_plate(store='zarr')`: int16 step 2^{np.log2(ZARR_STEP):.0f}, blosc zstd 5 + shuffle), read by `CropStore.read`",
                 bytes=du(zs.dir/"images.zarr") + du(zs.dir/"labels.zarr"), crops_per_s=read_rate(zs.read), err_max=err_max,
                 err_rms_over_noise=float(np.sqrt(err_sq/cnt))/noise, crop_s=crop_s))
rows.append(dict(store="npy (today), read by `CropStore.read`", bytes=rows[0]["bytes"], crops_per_s=read_rate(store.read)))
torch.manual_seed(0); model = make_model(3); opt = torch.optim.AdamW(model.parameters(), 1e-3); model.train()
x = prep(torch.from_numpy(np.asarray(store.images[batches[0]], np.float32)), PRESETS[a.preset]["scale"]); t = torch.zeros(16, dtype=torch.long)
def step(): loss = F.cross_entropy(model(x), t); opt.zero_grad(); loss.backward(); opt.step()
step(); t0 = time.perf_counter()
for _ in range(5): step()
step_rate = 5*16/(time.perf_counter() - t0)
base = rows[0]["bytes"]
# what a trained model makes of the lossy crops: the same model, the same test cells, exact vs decoded crops
from gradcamo.train import train, linked_work
from gradcamo.cam import score_cells
mw = linked_work(work, Path(tmp)/"model")                   # the model's own WORK_DIR on the same crops
h_npy = train(mw, a.train_epochs, 16, seed=0, test_frac=0.5, progress=False)
# training itself on each store (the loader reads a batch ahead in a thread): crops/s per epoch, same seed and wells
h_zarr = train(linked_work(zw, Path(tmp)/"model_zarr"), a.train_epochs, 16, seed=0, test_frac=0.5, progress=False)
training = {k: dict(crops_per_s=[round(float(v), 1) for v in h.crops_per_s], test_acc=[round(float(v), 3) for v in h.test_acc])
            for k, h in (("npy", h_npy), ("zarr", h_zarr))}
ref, _ = score_cells(mw, split="test", write=False, progress=False)
for r in rows:
    k = next((k for k in a.steps if f"2^-{k} " in r["store"]), None)
    if k is None and "pipeline's" not in r["store"]: continue
    if k is None: qw = zw                                        # the pipeline's store, as it is
    else:
        qw = Path(tmp)/f"work_q{k}"; linked_work(work, qw); (qw/"crops"/"images.npy").unlink()
        np.save(qw/"crops"/"images.npy", decoded[k])
    got, _ = score_cells(mw, data_dir=qw, split="test", write=False, progress=False)
    r.update(gradcamo_max_abs_diff=float((got.gradcamo - ref.gradcamo).abs().max()), gradcamo_mean_diff=float(got.gradcamo.mean() - ref.gradcamo.mean()),
             pred_agree=float((got.pred == ref.pred).mean()), n_scored=len(ref),
             gradcamo_max_abs_diff_same_pred=float((got.gradcamo - ref.gradcamo)[got.pred == ref.pred].abs().max()))
print(f"{n} crops of {store.images.shape[1:]} ({a.preset}); a training step consumes {step_rate:.1f} crops/s (CPU, {torch.get_num_threads()} threads); "
      f"noise outside cells (normalised units): {noise:.4f}")
print(f"{'store':50s} {'MB':>8s} {'x smaller':>9s} {'read crops/s':>12s} {'x step':>7s}")
for r in rows:
    lossy = (f"  max error {r['err_max']:.5f}, rms/noise {r['err_rms_over_noise']:.3f}; Grad-CAMO of {r['n_scored']} test cells: max |diff| {r['gradcamo_max_abs_diff']:.4f}, "
             f"mean diff {r['gradcamo_mean_diff']:+.5f}; same prediction {r['pred_agree']:.3f}") if "err_max" in r else ""
    print(f"{r['store']:50s} {r['bytes']/1e6:8.1f} {base/r['bytes']:9.2f} {r['crops_per_s']:12.0f} {r['crops_per_s']/step_rate:7.0f}{lossy}")
print(f"training on each store, crops/s by epoch (test balanced accuracy): npy {training['npy']}, zarr {training['zarr']}")
emit("crop_store", n_crops=n, step_crops_per_s=step_rate, noise=noise, rows=rows, training=training)
if a.out:
    from _common import machine, md_table
    import pandas as pd
    m = machine(); t = pd.DataFrame(rows)
    t.insert(1, "MB", t.pop("bytes")/1e6); t.insert(2, "x smaller", base/1e6/t.MB); t.insert(4, "x step", t.crops_per_s/step_rate)
    Path(a.out).write_text("\n".join([
        "# A compressed, chunked crop store (#18 item 3)", "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `python bench/crop_store.py {' '.join(sys.argv[1:])}` on {m['cpu']}, {m['cores']} cores (torch {m['torch']}, "
        f"zarr {zarr.__version__}). {n} crops {tuple(store.images.shape[1:])} of the `{a.preset}` plate (float16 images + uint8 label crops); random batches of 16 "
        f"read {a.batches} times; a CPU training step consumes {step_rate:.1f} crops/s in the same run. The crops' noise outside the cells: {noise:.4f} "
        f"(normalised units). Lossy rows: each voxel's normalised intensity rounded to a multiple of the step (int16 codes), read back as float32; "
        f"`gradcamo_*` and `pred_agree` compare one model (trained {a.train_epochs} epochs on the exact crops) scored on the exact and on the decoded crops "
        f"({max(r.get('n_scored', 0) for r in rows)} test cells; `_same_pred`: the cells whose predicted class did not change).", "",
        "Goal: >= 3x smaller than the `.npy` store and read >= 20x faster than the training step. The pipeline's own zarr store "
        "(the row naming `crop_plate`) is cropped from the plate afresh: its codes round the float32 crops, the other lossy rows the float16 ones; "
        "it is read crop by crop (zarr's basic indexing), the other zarr rows by one orthogonal selection a batch.", "",
        md_table(t.drop(columns=[c for c in ("write_crops_per_s", "crop_s") if c in t]), index=False, digits=4), "",
        f"Training itself on each store (`train`, {a.train_epochs} epochs, batch 16, seed 0, the same wells; its loader reads a batch ahead in a thread): "
        f"crops/s by epoch **npy {training['npy']['crops_per_s']}, zarr {training['zarr']['crops_per_s']}**; test balanced accuracy by epoch "
        f"npy {training['npy']['test_acc']}, zarr {training['zarr']['test_acc']} (the zarr model trains on rounded crops, so it is not the same model).", ""]))
shutil.rmtree(tmp, ignore_errors=True)
if own: shutil.rmtree(root, ignore_errors=True)
