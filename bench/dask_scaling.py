"""Benchmark: the per-field stages on Dask workers (#18 items 1 and 4), and a projection to a screen-sized plate.

On a synthetic plate (preset quick by default), `segment` (the offline Cellpose model), `crop` (into the `.npy` store,
and into the compressed zarr store, `--store zarr`, from the same masks) and `score` (a model
trained one epoch) run in this process (`workers=0`: torch on all cores), on a local Dask cluster of 1 worker and of 2
workers (`workers=N`: N processes of one thread). Each run starts from an empty WORK_DIR; wall time includes the
cluster's start. The outputs of every run are compared with the serial one: masks and crop stores byte for byte, the
score tables exactly.

Projection: a 384-well x 9-field plate of fields like these (same voxels and cell density), from the measured costs:
the work in worker-hours at one worker, and wall hours on N workers if each added worker gives what the second gave
here (the 2-worker efficiency held constant: an assumption, optimistic where storage or the scheduler saturate);
disk from the measured bytes per crop and per mask. Training is not a per-field stage: its epoch time is projected
from the measured crops/s.

`--running` times each stage on a cluster that was started before (its workers' imports done), as on a cluster a user
keeps running (`--scheduler ADDRESS`); the start is then measured apart (`start_s`: the cluster up and gradcamo
imported on every worker), once for the segment/crop stages and once for score.

`--sites K` gives each well K fields instead of the preset's (a larger plate, the same fields): the clusters' start and
the stages' fixed costs are then shared by more fields, as on a real plate.

`--repeat K` (with `--running`) runs every stage of the 1- and 2-worker configurations K times on the same running
cluster, each time into an empty WORK_DIR, and reports the median (the repetitions' seconds listed below the table):
one call of a stage moves by seconds from run to run on this machine, more than the goal's margin.

Run: python bench/dask_scaling.py [--preset quick] [--sites K] [--running [--repeat K]] [--out bench/DASK.md]
"""
import argparse, atexit, json, os, shutil, sys, tempfile, time, warnings
from contextlib import contextmanager
from pathlib import Path
import numpy as np, pandas as pd
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine, emit

def _imports():
    import gradcamo.segment, gradcamo.crop, gradcamo.cam   # what a stage's first task on a fresh worker imports

@contextmanager
def _stage_cluster(w: int, running: bool, times: list):
    "The `workers=`/`scheduler=` arguments of a stage with w workers: a fresh cluster per stage (the stage starts it), or, `running`, one started here and kept for the stages inside; its start time appended to `times`."
    if not (running and w): yield dict(workers=w); return
    from gradcamo.data import dask_client
    t0 = time.perf_counter()
    with dask_client(w) as client:
        client.run(_imports); times.append(time.perf_counter() - t0)
        yield dict(scheduler=client.scheduler.address)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="quick"); ap.add_argument("--out", default=None)
    ap.add_argument("--wells", type=int, default=384); ap.add_argument("--fields", type=int, default=9)
    ap.add_argument("--sites", type=int, default=None, help="fields per well of the measured plate (default: the preset's)")
    ap.add_argument("--running", action="store_true", help="time the stages on a cluster started before them; its start reported apart")
    ap.add_argument("--repeat", type=int, default=1, help="with --running: each stage of the 1- and 2-worker runs this many times, the median reported")
    a = ap.parse_args()
    if a.repeat > 1 and not a.running: ap.error("--repeat needs --running (a fresh cluster per call would time its start again)")
    from gradcamo.synth import make_config, synth_plate
    from gradcamo.segment import segment
    from gradcamo.crop import crop_plate, CropStore
    from gradcamo.train import train, linked_work
    from gradcamo.cam import score_cells
    from gradcamo.data import Plate, PRESETS
    t_all = time.perf_counter()
    root = Path(os.environ.get("GRADCAMO_BENCH_DIR") or tempfile.mkdtemp())
    if not os.environ.get("GRADCAMO_BENCH_DIR"): atexit.register(shutil.rmtree, root, True)   # its own plate and WORK_DIRs (about 1 GB) go when it ends
    table = synth_plate(root/f"plate_{a.preset}", make_config(a.preset, seed=0, sites_per_well=a.sites), n_jobs=2, progress=False)
    pl = Plate(table); n_fields = len(pl)
    seg_kw = dict(model="synthetic", seg_preset=PRESETS[a.preset]["seg_preset"], seg_epochs=PRESETS[a.preset]["seg_epochs"], progress=False)
    segment(table, root/"warm", **seg_kw)                           # the offline segmenter trained and cached once, before any timing
    configs = (0, 1, 2)
    rows, outs, starts, reps = [], {}, {w: [] for w in configs}, {}
    for w in configs:
        with _stage_cluster(w, a.running, starts[w]) as dk:
            for k in range(a.repeat if w else 1):                    # repetitions after the first go to scratch folders, removed
                wd, wz = (root/f"w{w}", root/f"z{w}") if k == 0 else (root/f"w{w}_r{k}", root/f"z{w}_r{k}")
                t0 = time.perf_counter()
                with warnings.catch_warnings(): warnings.simplefilter("ignore"); segment(table, wd, **dk, **seg_kw)
                t_seg = time.perf_counter() - t0
                t0 = time.perf_counter(); cells = crop_plate(table, wd, **dk, progress=False); t_crop = time.perf_counter() - t0
                t0 = time.perf_counter(); crop_plate(table, wz, masks_dir=wd/"masks", **dk, store="zarr", progress=False); t_zarr = time.perf_counter() - t0
                for st, v in (("segment", t_seg), ("crop", t_crop), ("crop_zarr", t_zarr)): reps.setdefault((w, st), []).append(v)
                if k: shutil.rmtree(wd); shutil.rmtree(wz)
        wd, wz = root/f"w{w}", root/f"z{w}"                           # the zarr store: the workers write their fields' chunks
        t_seg, t_crop, t_zarr = (float(np.median(reps[w, st])) for st in ("segment", "crop", "crop_zarr"))
        zs = CropStore(wz)
        outs[w] = dict(masks={k: (wd/"masks"/f"{k}.tif").read_bytes() for k in pl.fields.key},
                       images=(wd/"crops"/"images.npy").read_bytes(), labels=(wd/"crops"/"labels.npy").read_bytes(),
                       zarr=(zs.images[:], zs.labels[:]))
        rows.append(dict(workers=w, segment_s=t_seg, crop_s=t_crop, crop_zarr_s=t_zarr, n_cells=len(cells)))
        print(rows[-1], flush=True)
    model_dir = linked_work(root/"w0", root/"model")                  # one model, trained once, scored by every configuration
    h = train(model_dir, 1, 16, progress=False)
    scores = {}
    for r in rows:
        with _stage_cluster(r["workers"], a.running, starts[r["workers"]]) as dk:
            for k in range(a.repeat if r["workers"] else 1):
                t0 = time.perf_counter(); c, _ = score_cells(model_dir, **dk, write=False, progress=False); reps.setdefault((r["workers"], "score"), []).append(time.perf_counter() - t0)
        r["score_s"] = float(np.median(reps[r["workers"], "score"]))
        if a.running: r["start_s"] = float(np.mean(starts[r["workers"]])) if starts[r["workers"]] else 0.0
        scores[r["workers"]] = c
    same = dict(masks=all(outs[w]["masks"] == outs[0]["masks"] for w in configs), crops=all(outs[w]["images"] == outs[0]["images"] and outs[w]["labels"] == outs[0]["labels"] for w in configs),
                zarr=all(all(np.array_equal(x, y) for x, y in zip(outs[w]["zarr"], outs[0]["zarr"])) for w in configs),
                scores_among_workers=all(scores[w].equals(scores[1]) for w in configs if w))
    num = [c for c in scores[0].columns if scores[0][c].dtype.kind == "f"]
    score_diff = max(float((scores[w][num] - scores[0][num]).abs().max().max()) for w in configs)
    tab = pd.DataFrame(rows)
    n_cells = int(tab.n_cells[0])
    for st in ("segment", "crop", "crop_zarr", "score"):
        tab[f"{st}_speedup_vs_1"] = tab[f"{st}_s"][tab.workers == 1].iloc[0]/tab[f"{st}_s"]
    crop_bytes = (root/"w0"/"crops"/"images.npy").stat().st_size + (root/"w0"/"crops"/"labels.npy").stat().st_size
    zarr_bytes = sum(f.stat().st_size for d in ("images.zarr", "labels.zarr") for f in (root/"z0"/"crops"/d).rglob("*") if f.is_file())
    mask_bytes = sum((root/"w0"/"masks"/f"{k}.tif").stat().st_size for k in pl.fields.key)
    one = tab[tab.workers == 1].iloc[0]; two = tab[tab.workers == 2].iloc[0]
    F = a.wells*a.fields; cpf = n_cells/n_fields
    per_field_1 = dict(segment=one.segment_s/n_fields, crop=one.crop_s/n_fields, score=one.score_s/n_fields)   # 1 worker: worker-seconds per field
    eff = {k: (one[f"{k}_s"]/two[f"{k}_s"])/2 for k in per_field_1}                                          # efficiency of the 2nd worker
    proj = []
    for n in (1, 2, 8, 32, 128):
        hours = {k: F*v/(n*(eff[k] if n > 1 else 1.0))/3600 for k, v in per_field_1.items()}
        proj.append(dict(workers=n, **{f"{k}_h": v for k, v in hours.items()}, total_h=sum(hours.values())))
    proj = pd.DataFrame(proj)
    epoch_h = F*cpf*0.5/float(h.crops_per_s.iloc[0])/3600           # half the wells train (TEST_FRAC 0.5), at the measured crops/s
    m = machine()
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)
    mdt = lambda df: "\n".join(["| " + " | ".join(df.columns) + " |", "|" + "---|"*len(df.columns)] + ["| " + " | ".join(fmt(v) for v in r) + " |" for r in df.itertuples(index=False)])
    fs = pl.read(0).shape
    text = "\n".join([
        "# Per-field stages on Dask workers (#18 items 1 and 4)", "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `python bench/dask_scaling.py --preset {a.preset}{f' --sites {a.sites}' if a.sites else ''}{' --running' if a.running else ''}{f' --repeat {a.repeat}' if a.repeat > 1 else ''}` in {(time.perf_counter() - t_all)/60:.1f} min on "
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB (torch {m['torch']}). Plate: synthetic `{a.preset}`{f' with {a.sites} fields a well' if a.sites else ''}, {n_fields} fields of (Z, C, Y, X) {fs} "
        f"at {pl.voxel_size_um} µm, {n_cells} cells cropped. workers 0: this process, torch on all cores; N >= 1: a local Dask cluster of N "
        + ("one-thread processes started before the stages and kept running (gradcamo imported on every worker); `start_s`: that start, the mean over "
           "the two starts (segment and crops; score), not in the stages' times." if a.running else "one-thread processes (its start included)."), "",
        mdt(tab.round(3)), "",
        *([f"Each stage {a.repeat} times on the running 1- and 2-worker clusters (the medians above; the first call of score on a cluster "
           "includes the workers' loading of the model), seconds: " + "; ".join(f"{st} {w} worker{'s' if w > 1 else ''}: " + ", ".join(f"{v:.1f}" for v in reps[w, st])
           for st in ("segment", "crop", "crop_zarr", "score") for w in (1, 2)) + ".", ""] if a.repeat > 1 else []),
        f"Outputs identical to the serial run's: masks (bytes) {same['masks']}, crop stores (bytes) {same['crops']}, zarr crop stores (arrays) {same['zarr']}; score tables identical for 1 and 2 workers: "
        f"{same['scores_among_workers']}, and within {score_diff:.1e} of the serial run's (torch's 2-thread convolutions round differently from a 1-thread worker's).", "",
        f"Goal (#18): 2 workers >= 1.7x 1 worker. Measured: segment {two.segment_speedup_vs_1:.2f}x, crop {two.crop_speedup_vs_1:.2f}x "
        f"(with the zarr store, whose workers write it: {two.crop_zarr_speedup_vs_1:.2f}x), score {two.score_speedup_vs_1:.2f}x; "
        f"against this process on all {m['cores']} cores (workers 0): segment {tab.segment_s[0]/two.segment_s:.2f}x, crop {tab.crop_s[0]/two.crop_s:.2f}x, score {tab.score_s[0]/two.score_s:.2f}x.", "",
        f"## Projection: {a.wells} wells x {a.fields} fields = {F} fields like these ({cpf:.0f} cells each, {F*cpf:,.0f} cells)", "",
        f"Worker-seconds per field at 1 worker: segment {per_field_1['segment']:.2f}, crop {per_field_1['crop']:.3f}, score {per_field_1['score']:.3f}; "
        f"2-worker efficiency held for every N: segment {eff['segment']:.2f}, crop {eff['crop']:.2f}, score {eff['score']:.2f}.", "",
        mdt(proj.round(2)), "",
        f"Disk: crop store {crop_bytes/n_cells/1e3:.0f} kB a cell -> {F*cpf*crop_bytes/n_cells/1e9:.0f} GB (`--store zarr`: {zarr_bytes/n_cells/1e3:.0f} kB a cell -> "
        f"{F*cpf*zarr_bytes/n_cells/1e9:.0f} GB; bench/STORE.md); masks {mask_bytes/n_fields/1e6:.2f} MB a field -> {F*mask_bytes/n_fields/1e9:.1f} GB. "
        f"Training (one process, this machine's CPU, {float(h.crops_per_s.iloc[0]):.0f} crops/s measured): {epoch_h:.1f} h an epoch over the training half; "
        "on a GPU see bench/GPU.md. Fields of a real microscope are larger: the per-field costs grow about with the voxels per field (cellpose and resampling "
        "are linear in voxels), so scale these hours by (your field's voxels / these fields' voxels).", ""])
    print(text)
    if a.out: Path(a.out).write_text(text)
    emit("dask", **{f"{k}_speedup_2v1": float(two[f"{k}_speedup_vs_1"]) for k in ("segment", "crop", "crop_zarr", "score")}, identical=all(same.values()))

if __name__ == "__main__": main()
