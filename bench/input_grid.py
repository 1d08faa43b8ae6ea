"""Does a finer network grid or longer training raise the instrument's ceiling? (#14 item 2: "choose the target layer,
input scale and upsampling by this dynamic range"; goal ceiling >= 0.7 and floor <= 0.1 in every seed.)

`06`'s four models per seed (clean; confounded with the background cue; ceiling = the confounded crops with every voxel
outside the cell drawn from the plate's pooled background, `mask_crops(fill="noise")`; floor = the cell's own voxels
drawn so), on the quick plates cropped from the true masks, the same 16 x 24 x 24 µm box resampled to each network
grid (`--grids`), 6 epochs; and the ceiling and floor models trained `--long` epochs on the first grid. Every model is
scored on its test wells (the clean one on the confounded plate's, same images) by 24 readings relative to the
background (`_conv_stem`, `_blocks.0`, `_blocks.1` x Grad-CAM / HiResCAM x four smoothings, nearest upsampling); a
smoothing is in network-input voxels, so a 2x finer grid gets twice the sigmas (the same µm). Long models are also
scored at epochs 5 and 11 of their schedule. Written for a GPU (models train concurrently, `--procs`); bf16 autocast
there, so its numbers are not the CPU's: compare grids and lengths within one run.

Run: python bench/input_grid.py --out grid.json [--grids 64x64x64 32x32x32] [--seeds 0 1 2] [--long 24] [--procs 14]
     python bench/input_grid.py --render grid.json > bench/INPUT_GRID.md
"""
import argparse, json, os, sys, tempfile, shutil, time, multiprocessing as mp
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
KINDS = ("ceiling", "floor", "clean", "confounded")

def _prepare(root, grid):
    from gradcamo.data import TEST_FRAC
    from gradcamo.crop import synthetic_crops, reference_crops
    from gradcamo.train import make_split
    w0 = synthetic_crops(root, "quick", 0, grid=grid); wc = synthetic_crops(root, "quick", 0, confound=1.0, confound_kinds=("background",), grid=grid)
    make_split(w0, 0, TEST_FRAC); make_split(wc, 0, TEST_FRAC)
    return dict(clean=w0, confounded=wc) | reference_crops(wc, "noise", progress=False)

def _job(a):
    "Train one model, score it by every reading at its last epoch (and at 5, 11 when longer than 12): per-cell Grad-CAMO lists."
    kind, grid, seed, epochs, src, wc, device = a
    import torch; torch.set_num_threads(1)
    from gradcamo.data import TEST_FRAC
    from gradcamo.train import train, linked_work
    from gradcamo.cam import score_candidates
    d = linked_work(src, Path(f"{src}_g{seed}_e{epochs}"))
    t = time.time(); h = train(d, epochs, 16, scale=1, seed=seed, test_frac=TEST_FRAC, device=device, resume=True, progress=False); tt = time.time() - t
    f = grid[0]/32
    cands = [(l, m, "nearest", "background", g*f) for l in ("_conv_stem", "_blocks.0", "_blocks.1") for m in ("gradcam", "hirescam") for g in (0.0, 1.0, 2.0, 4.0)]
    res = {}
    for ep in sorted({epochs - 1} | ({5, 11} if epochs > 12 else set())):
        r = score_candidates(d, cands, epoch=ep, split="test", progress=False, write=False, data_dir=wc if kind == "clean" else None, device=device)
        res[ep] = {"|".join(map(str, c)): [None if v != v else round(float(v), 5) for v in cs.gradcamo] for c, (cs, s) in r.items()}
    return dict(kind=kind, grid=list(grid), seed=seed, epochs=epochs, acc=float(h.test_acc.iloc[-1]), train_s=tt, cells=res)

def compact(raw: dict) -> dict:
    "Per model and reading the mean Grad-CAMO (and cells scored); per grid, length and reading the pooled clean-vs-confounded AUROC."
    import numpy as np
    from gradcamo.cam import auroc
    rows, pool = [], {}
    for r in raw["rows"]:
        for ep, cs in r["cells"].items():
            for c, v in cs.items():
                v = np.array([np.nan if x is None else x for x in v], float); v = v[~np.isnan(v)]
                rows.append(dict(kind=r["kind"], grid="x".join(map(str, r["grid"])), seed=r["seed"], epochs=r["epochs"], epoch=int(ep), reading=c,
                                 gradcamo=float(v.mean()), n=int(len(v)), acc=r["acc"], train_s=r["train_s"]))
                if r["kind"] in ("clean", "confounded") and int(ep) == r["epochs"] - 1:
                    pool.setdefault(("x".join(map(str, r["grid"])), r["epochs"], c), {}).setdefault(r["kind"], []).append(v)
    au = [dict(grid=g, epochs=e, reading=c, auroc=auroc(np.concatenate(p["clean"]), np.concatenate(p["confounded"])))
          for (g, e, c), p in pool.items() if "clean" in p and "confounded" in p]
    return {k: v for k, v in raw.items() if k != "rows"} | dict(rows=rows, auroc=au)

def render(res: dict) -> str:
    import pandas as pd
    from _common import md_table
    d = pd.DataFrame(res["rows"]); m = res["machine"]
    L = ["# A finer network grid and longer training against the calibration (#14 item 2)", "",
         f"Measured {res['when']} by `python bench/input_grid.py` in {res['minutes']:.1f} min on {m.get('gpu') or m.get('cpu')} ({m.get('cores')} cores; "
         f"torch {m.get('torch')}, MONAI {m.get('monai')}), {res['procs']} trainings at a time. The quick plates cropped from the true masks, box "
         f"16 x 24 x 24 µm, resampled to each grid; 06's split (test wells of the confounded plate); ceiling and floor models on the noise fill. "
         "Readings relative to the background, nearest upsampling; a reading's last number is the smoothing sigma in its grid's input voxels "
         "(a 64 grid's 0, 2, 4, 8 are the same µm as a 32 grid's 0, 1, 2, 4). "
         + ("Trained with bf16 autocast on the GPU, so these are not the CPU run's numbers: compare rows of this run." if res.get("device", "cuda") == "cuda"
            else "Trained on the CPU, one thread a training (a training's numbers move with its thread count).")
         + (f" {res['note']}" if res.get("note") else ""), ""]
    last = d[d.epoch == d.epochs - 1].copy()
    acc = last.drop_duplicates(["kind", "grid", "seed", "epochs"]).pivot_table(index=["grid", "epochs"], columns="kind", values="acc")
    L += ["Test accuracy (mean over seeds):", "", md_table(acc[[k for k in KINDS if k in acc]]), ""]
    def cal(x):
        p = x[x.kind.isin(["ceiling", "floor"])].pivot_table(index=["grid", "epochs", "epoch", "reading", "seed"], columns="kind", values="gradcamo").reset_index()
        p["range"] = p.ceiling - p.floor
        return p.groupby(["grid", "epochs", "epoch", "reading"]).agg(ceiling=("ceiling", "mean"), ceiling_min=("ceiling", "min"), floor=("floor", "mean"),
                                                                     floor_max=("floor", "max"), range=("range", "mean"), seeds=("seed", "nunique")).reset_index()
    c = cal(last).merge(pd.DataFrame(res["auroc"]), on=["grid", "epochs", "reading"], how="left")
    c["reading"] = c.reading.str.replace("|nearest|background|", " ", regex=False).str.replace("|", " ", regex=False)
    for (g, e), x in c.groupby(["grid", "epochs"], sort=False):
        L += [f"**Grid {g}, {e} epochs**: the six readings with the widest mean range (ceiling - floor) over seeds"
              + (" (AUROC: clean vs confounded on the same images, cells pooled over seeds)" if x.auroc.notna().any() else "") + ":", "",
              md_table(x.sort_values("range", ascending=False).head(6).drop(columns=["grid", "epochs", "epoch"] + ([] if x.auroc.notna().any() else ["auroc"])), index=False), ""]
    best = c.loc[c.groupby(["grid", "epochs"]).range.idxmax()]
    L += ["Best reading per grid and length:", "", md_table(best.drop(columns=["epoch"]), index=False), ""]
    mid = d[(d.epochs > 12)]
    if len(mid):
        mc = cal(mid); mb = mc.loc[mc.groupby(["grid", "epochs", "epoch"]).range.idxmax()]
        mb["reading"] = mb.reading.str.replace("|nearest|background|", " ", regex=False).str.replace("|", " ", regex=False)
        L += ["The long models along their schedule (best reading at each scored epoch):", "", md_table(mb, index=False), ""]
    hit = best[(best.ceiling_min >= 0.7) & (best.floor_max <= 0.1)]
    L += [f"Calibration goal (ceiling >= 0.7 and floor <= 0.1 in every seed) met by: {', '.join(f'grid {r.grid}, {r.epochs} epochs' for r in hit.itertuples()) or 'no grid or length measured'}. "
          f"Highest mean ceiling of any reading: {c.ceiling.max():.3f} ({c.loc[c.ceiling.idxmax(), 'reading']}, grid {c.loc[c.ceiling.idxmax(), 'grid']}, {c.loc[c.ceiling.idxmax(), 'epochs']} epochs).", ""]
    return "\n".join(L)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="grid.json"); ap.add_argument("--grids", nargs="+", default=["64x64x64", "32x32x32"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2]); ap.add_argument("--long", type=int, default=24)
    ap.add_argument("--procs", type=int, default=14); ap.add_argument("--device", default="cuda")
    ap.add_argument("--render", default=None); ap.add_argument("--compact", nargs=2, default=None, metavar=("RAW", "OUT"))
    a = ap.parse_args()
    if a.render: print(render(json.loads(Path(a.render).read_text()))); return
    if a.compact: Path(a.compact[1]).write_text(json.dumps(compact(json.loads(Path(a.compact[0]).read_text())), indent=0)); return
    from gradcamo.synth import synth_plate
    from gradcamo.crop import synthetic_names
    from _common import machine
    t0 = time.time(); root = Path(tempfile.mkdtemp(prefix="input_grid_"))
    import atexit; atexit.register(shutil.rmtree, root, True)        # plates, crops and models go when the run ends: only the JSON stays
    for conf in ({}, dict(confound=1.0, confound_kinds=("background",))):   # the plates once, with every core (synthetic_crops reuses them)
        p, _, cfg = synthetic_names(root, "quick", 0, **conf); synth_plate(p, cfg, n_jobs=max(1, (os.cpu_count() or 2) - 2), progress=False)
    grids = [tuple(int(v) for v in g.split("x")) for g in a.grids]
    dirs = {g: _prepare(root, g) for g in grids}
    jobs = [(k, g, s, 6) for g in grids for s in a.seeds for k in KINDS] + [(k, grids[-1], s, a.long) for s in a.seeds for k in ("ceiling", "floor")] * bool(a.long)
    raw = dict(when=time.strftime("%Y-%m-%d %H:%M"), machine=machine(), device=a.device, procs=a.procs, rows=[])
    with mp.get_context("spawn").Pool(a.procs) as pool:
        for r in pool.imap_unordered(_job, [(k, g, s, e, dirs[g][k], dirs[g]["confounded"], a.device) for k, g, s, e in jobs]):
            raw["rows"].append(r); raw["minutes"] = (time.time() - t0)/60
            print(f"[{time.time() - t0:.0f} s] {r['kind']} grid {r['grid']} seed {r['seed']} {r['epochs']} epochs acc {r['acc']:.3f}", flush=True)
            Path(a.out).write_text(json.dumps(compact(raw)))          # a cut run keeps what it finished
    print(render(compact(raw)))

if __name__ == "__main__": main()
