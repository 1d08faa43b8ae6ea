"""Does training longer separate the clean model from the confounded one on the same images, and does the calibration
hold? (#14 item 3: pooled per-cell AUROC >= 0.85 and a well interval above 0 in every seed; item 2: floor <= 0.1.)

`06_gradcamo`'s experiment at one training length per run, for several lengths: the quick plates (clean; confounded
with the background cue; its ceiling and floor crops from `mask_crops`), one well split for all, cropped from the true
masks. For each training length and seed, the four models are trained from scratch (their own one-cycle schedule over
that many epochs) and scored by `06`'s `cheat_experiment` with the project's CAM (`CAM_METHOD` at `CAM_LAYER`,
`CAM_UPSAMPLE` upsampling) on the confounded plate's test wells: the clean model on the same images as the confounded
one (AUROC, well bootstrap), the ceiling and floor models on theirs. Models train concurrently (`--procs` processes; on one GPU they share it). Written for a GPU machine; it also
runs on a CPU (slowly), which is how it was checked.

Run: python bench/cheat_epochs.py --out cheat.json [--preset quick] [--epochs 6 12 18] [--seeds 0 1 2] [--procs 6]
     python bench/cheat_epochs.py --render cheat.json > bench/CHEAT_EPOCHS.md
     python bench/cheat_epochs.py --render a.json b.json ... > X.md   (runs compared, e.g. crop boxes: `--box Z Y X`)
"""
import argparse, json, os, shutil, sys, tempfile, time
from pathlib import Path
OLD_BOX_UM = (16.0, 24.0, 24.0)   # the crop box of the runs written before --box (their JSONs do not say it)
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

def _train(job):
    import torch
    torch.set_num_threads(job.pop("threads"))
    from gradcamo.train import train
    t0 = time.perf_counter(); h = train(**job, progress=False)
    return job["work_dir"], time.perf_counter() - t0, float(h.test_balanced_accuracy.iloc[-1]) if "test_balanced_accuracy" in h else None

def render(res: dict) -> str:
    import pandas as pd
    from _common import md_table
    m = res["machine"]; r = pd.DataFrame(res["rows"])
    L = ["# Training length and the cheating experiment (#14)", "",
         f"Measured {res['when']} by `python bench/cheat_epochs.py` in {res['minutes']:.1f} min on {m['gpu'] or m['cpu']} "
         f"({m['cores']} cores; torch {m['torch']}, MONAI {m['monai']}), device `{res['device']}`, {res['procs']} trainings at a time. "
         f"Plates: `{res['preset']}` synthetic, clean and confounded (background cue), cropped from the true masks; "
         f"{res['n_test_cells']} test cells in {res['n_test_wells']} test wells; crop box {tuple(res.get('box_um', OLD_BOX_UM))} µm; CAM: {res['method']} at `{res['layer']}`, {res.get('upsampling', 'trilinear')} upsampling; chance (the cell's share of the crop) "
         f"{res['chance']:.3f}. Each row: one seed, four models trained from scratch for that many epochs.", "",
         md_table(r, index=False), ""]
    g = r.groupby("epochs")
    s = pd.DataFrame(dict(ceiling_min=g.ceiling.min(), floor_max=g.floor.max(), diff_lo_min=g.diff_lo.min(), auroc_pooled=pd.Series({int(k): v for k, v in res["pooled_auroc"].items()}),
                          clean_acc=g.clean_acc.mean(), confounded_acc=g.confounded_acc.mean(), train_s_per_model=g.train_s.mean()/4)).rename_axis("epochs")
    L += ["Per training length (goals: ceiling >= 0.7 and floor <= 0.1 in every seed, same-image well interval above 0 in every seed, pooled AUROC >= 0.85):", "",
          md_table(s), "",
          f"`train_s` is the wall time of a seed's four trainings while {res['procs']} ran at once on one device (not a speed to quote). "
          f"Pooled same-image AUROC by length: " + ", ".join(f"{int(k)} epochs {v:.3f}" for k, v in res["pooled_auroc"].items()) +
          f"; the goal 0.85 is {'reached at ' + ', '.join(str(int(k)) for k, v in res['pooled_auroc'].items() if v >= 0.85) if any(v >= 0.85 for v in res['pooled_auroc'].values()) else 'reached at no length'}.", ""]
    if res.get("errors"): L += ["**Errors**:", ""] + [f"- {k}: `{v}`" for k, v in res["errors"].items()] + [""]
    return "\n".join(L)

def compare(runs: list) -> str:
    "Several runs side by side (e.g. one per crop box): the calibration's worst seeds and the experiment's contrast, then each run."
    import pandas as pd
    from _common import md_table
    rows = []
    for res in runs:
        r = pd.DataFrame(res["rows"])
        for e, g in r.groupby("epochs"):
            rows.append(dict(box_um=" × ".join(f"{v:g}" for v in res.get("box_um", OLD_BOX_UM)), epochs=e, chance=res["chance"], test_cells=res["n_test_cells"],
                             ceiling_mean=g.ceiling.mean(), ceiling_min=g.ceiling.min(), floor_mean=g.floor.mean(), floor_max=g.floor.max(),
                             range_mean=(g.ceiling - g.floor).mean(), floor_over_chance=g.floor.mean()/res["chance"], diff_lo_min=g.diff_lo.min(),
                             auroc_pooled=res["pooled_auroc"][str(e)] if str(e) in res["pooled_auroc"] else res["pooled_auroc"][e]))
    t = pd.DataFrame(rows)
    ok = lambda x: (x.ceiling_min >= 0.7) & (x.floor_max <= 0.1)
    return "\n".join(["# The crop box and the instrument's calibration (#14)", "",
                      "The same experiment (`06`'s four models over seeds, scored by `cheat_experiment`) once per crop box; everything else equal "
                      "(plates, split, seeds, epochs, CAM). Goals (#14 item 2): ceiling >= 0.7 and floor <= 0.1 in every seed.", "",
                      md_table(t.assign(calibration_goals_met=ok(t)), index=False), ""] + [render(res) for res in runs])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="cheat.json"); ap.add_argument("--preset", default="quick"); ap.add_argument("--device", default="cuda")
    ap.add_argument("--epochs", type=int, nargs="+", default=[6, 12, 18]); ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--procs", type=int, default=6); ap.add_argument("--render", nargs="+", default=None)
    ap.add_argument("--box", type=float, nargs=3, default=None, help="the crop box (z, y, x) in µm (default: CROP_BOX_UM)")
    a = ap.parse_args()
    if a.render:
        runs = [json.loads(Path(f).read_text()) for f in a.render]
        print(render(runs[0]) if len(runs) == 1 else compare(runs)); return
    import numpy as np, pandas as pd, torch, multiprocessing as mp
    from gradcamo.data import PRESETS, CAM_LAYER, CAM_METHOD, CAM_UPSAMPLE
    from gradcamo.synth import synth_plate
    from gradcamo.crop import synthetic_names, crop_plate, reference_crops, CROP_BOX_UM
    from gradcamo.train import linked_work, make_split, load_split
    from gradcamo.cam import cheat_experiment, auroc
    from _common import machine
    t_all = time.perf_counter(); test_frac = 0.5            # 06's
    box = tuple(a.box or CROP_BOX_UM)
    res = dict(when=time.strftime("%Y-%m-%d %H:%M"), machine=machine(), preset=a.preset, device=a.device, procs=a.procs, layer=CAM_LAYER, method=CAM_METHOD, upsampling=CAM_UPSAMPLE,
               box_um=box, rows=[], errors={})
    save = lambda: Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    def log(*s): print(f"[{time.perf_counter() - t_all:6.1f} s]", *s, flush=True)
    root = Path(tempfile.mkdtemp(prefix="cheat_epochs_")); jobs = max(1, (os.cpu_count() or 2) - 2)
    import atexit; atexit.register(shutil.rmtree, root, True)   # plates, crops and models go when the run ends, however it ends: only the JSON stays
    def plate(**kw):
        p, w, cfg = synthetic_names(root, a.preset, 0, box_um=box, **kw)
        table = synth_plate(p, cfg, n_jobs=jobs, progress=False)
        crop_plate(table, w, box, masks_dir=Path(table).parent/"truth"/"labels", progress=False)
        return w
    wclean, wc = plate(), plate(confound=1.0, confound_kinds=("background",))
    make_split(wclean, 0, test_frac); make_split(wc, 0, test_frac)
    bases = dict(clean=wclean, confounded=wc) | reference_crops(wc, "zero", progress=False)
    log("plates made")
    dirs = {(k, s, e): linked_work(b, b.with_name(f"{b.name}_s{s}_e{e}")) for e in a.epochs for s in a.seeds for k, b in bases.items()}
    pooled, took = {}, {}
    with mp.get_context("spawn").Pool(a.procs) as pool:
        for e in a.epochs:                   # one training length at a time: its 4 models x seeds train together, then are scored (a cut run keeps what it finished)
            todo = [dict(work_dir=str(dirs[k, s, e]), epochs=e, batch_size=16, scale=PRESETS[a.preset]["scale"], seed=s, test_frac=test_frac,
                         device=a.device, threads=max(1, (os.cpu_count() or 2)//a.procs)) for s in a.seeds for k in bases]
            t0 = time.perf_counter()
            took |= {w: (t, acc) for w, t, acc in pool.imap_unordered(_train, todo)}
            log(f"{len(todo)} models of {e} epochs trained in {time.perf_counter() - t0:.0f} s")
            pooled[e] = ([], [])
            for s in a.seeds:
                r, sc_all = cheat_experiment({(k, s): dirs[k, s, e] for k in bases}, wc, device=a.device, write=False)
                r = r.iloc[0]
                x, y = (sc_all[k, s][0].gradcamo.dropna().to_numpy() for k in ("clean", "confounded"))
                res["rows"].append(dict(epochs=e, seed=s, ceiling=float(r.ceiling), floor=float(r.floor), clean=float(r.clean_on_confounded_gradcamo),
                                        confounded=float(r.confounded_gradcamo), diff=float(r["diff"]), diff_lo=float(r.diff_lo), diff_hi=float(r.diff_hi), auroc=float(r.auroc),
                                        clean_acc=float(r.clean_acc), confounded_acc=float(r.confounded_acc),
                                        clean_bg_share=float(r.clean_on_confounded_background_share), confounded_bg_share=float(r.confounded_background_share),
                                        train_s=sum(took[str(dirs[k, s, e])][0] for k in bases)))
                pooled[e][0].append(x); pooled[e][1].append(y)
                res["n_test_cells"], res["chance"] = int(r.n_cells), r.chance
                log(res["rows"][-1])
            p = pooled[e]
            res.setdefault("pooled_auroc", {})[e] = auroc(np.concatenate(p[0]), np.concatenate(p[1]))
            res["n_test_wells"] = int(load_split(wc).query("Metadata_Split == 'test'").Metadata_Well.nunique())
            res["minutes"] = (time.perf_counter() - t_all)/60; save()
    res["minutes"] = (time.perf_counter() - t_all)/60; save()
    print(render(res))

if __name__ == "__main__": main()
