"""Can the calibrated instrument tell a model that cannot use the cell from one that can? (#14 items 2 and 3)

`06`'s calibration references differ from the confounded model in their input: the ceiling sees a zero background, the
floor a zero cell. A CAM that weighs each voxel by the layer's activation (HiResCAM, Grad-CAM) can score them apart
because there is nothing to weigh where the input is empty, whatever the model relies on. This bench adds the reference
the question needs: a **cue-only** model, trained on a plate drawn like the confounded one (the background cue follows
the treatment) but with no treatment effect in the cells (`effect=0`): its cells are there, bright as ever, and carry
no information, so it can only read the cue. It is scored on its own plate's test wells, and so is the clean model
(the same images: `clean_on_cue`), beside `06`'s four models (clean on its own and on the confounded plate, confounded,
ceiling, floor) on `06`'s plates and split (quick, seed 0, test share 0.5, cropped from the true masks, 6 epochs).
CAMs: `06`'s own candidates at `CAM_LAYER` (HiResCAM and Grad-CAM, `CAM_UPSAMPLE`), from one pass.

Run: python bench/cue_only.py --seeds 0 1 2 --out bench/cue_only_cpu.json [--keep DIR]   (DIR: plates and models kept and reused)
     python bench/cue_only.py --render bench/cue_only_cpu.json > bench/CUE_ONLY.md
"""
import argparse, json, os, shutil, sys, tempfile, time
from dataclasses import replace
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
EPOCHS, TEST_FRAC = 6, 0.5   # 06's quick experiment

def _train(job):
    import torch
    torch.set_num_threads(job.pop("threads"))
    from gradcamo.train import train
    t0 = time.perf_counter(); h = train(**job, progress=False)
    return job["work_dir"], time.perf_counter() - t0, float(h.test_acc.iloc[-1])

SCORED = dict(clean_own=("clean", None), clean_on_conf=("clean", "confounded"), confounded=("confounded", None), ceiling=("ceiling", None),
              floor=("floor", None), cueonly=("cueonly", None), clean_on_cue=("clean", "cueonly"))   # name: (model, whose test wells; None: its own)

def render(res: dict) -> str:
    import pandas as pd
    from _common import md_table
    m = res["machine"]; r = pd.DataFrame(res["rows"])
    g = r.groupby("method")
    s = pd.DataFrame(dict(ceiling=g.ceiling.mean(), floor=g.floor.mean(), clean_same=g.clean_on_conf.mean(), confounded=g.confounded.mean(),
                          clean_on_cue=g.clean_on_cue.mean(), cueonly=g.cueonly.mean(), cueonly_over_chance=g.cueonly.mean()/res["chance"],
                          auroc_conf=pd.Series(res["pooled_auroc_conf"]), auroc_cue=pd.Series(res["pooled_auroc_cue"]))).rename_axis("method")
    return "\n".join([
        "# A model that cannot use the cell, and the instrument (#14)", "",
        f"Measured {res['when']} by `python bench/cue_only.py` in {res['minutes']:.1f} min on {m['gpu'] or m['cpu']} ({m['cores']} cores; torch {m['torch']}, "
        f"MONAI {m['monai']}), 2 trainings at a time, 1 thread each. Plates `quick`, seeds {res['seeds']}, {EPOCHS} epochs, test share {TEST_FRAC}; "
        f"{res['n_test_cells']} test cells of the confounded plate, {res['n_test_cells_cue']} of the cue-only plate; chance (the cell's share of the crop) "
        f"{res['chance']:.3f}; CAMs at `{res['layer']}`, {res['upsampling']} upsampling.", "",
        "Models: **clean** (clean plate), **confounded** (background cue), **ceiling** / **floor** (the confounded crops with everything but the cell / "
        "the cell set to 0: `06`'s calibration), **cueonly** (the confounded plate's design with no treatment effect: the cells carry nothing, the "
        "background cue everything). Columns are mean Grad-CAMO on test cells: `clean_own` the clean model on its plate, `clean_on_conf` on the "
        "confounded plate's images (the confounded model's), `clean_on_cue` on the cue-only plate's images (the cue-only model's); `acc_*` balanced "
        "test accuracy on the model's own plate; `auroc_conf` per-cell AUROC clean vs confounded on the same images (06's), `auroc_cue` clean vs "
        "cue-only on the same images.", "",
        md_table(r, index=False), "",
        "Over seeds (AUROCs pooled over the seeds' cells):", "", md_table(s), "",
        "How to read it: a cue-only model's Grad-CAMO is what a model that **cannot** be using the cell scores on images where the cell is "
        "visible. Where it is far above the floor and near the confounded model's, the calibrated range (ceiling vs floor) is not the range "
        "that separates a cheating model from an honest one on real images: the activation factor of the CAM puts mass on the bright cell "
        "whatever the model reads.", ""])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="cue_only.json"); ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--keep", default=None, help="a folder for plates and models, kept and reused (default: a temporary one, removed)")
    ap.add_argument("--render", default=None)
    a = ap.parse_args()
    if a.render: print(render(json.loads(Path(a.render).read_text()))); return
    import numpy as np, pandas as pd, torch, multiprocessing as mp
    from gradcamo.data import PRESETS, CAM_LAYER, CAM_UPSAMPLE
    from gradcamo.synth import synth_plate
    from gradcamo.crop import synthetic_names, crop_plate, reference_crops, CROP_BOX_UM
    from gradcamo.train import linked_work, make_split, load_split
    from gradcamo.cam import score_candidates, auroc, OWN_CAMS
    from _common import machine
    t_all = time.perf_counter()
    log = lambda *s: print(f"[{time.perf_counter() - t_all:6.1f} s]", *s, flush=True)
    root = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="cue_only_"))
    if not a.keep:
        import atexit; atexit.register(shutil.rmtree, root, True)
    root.mkdir(parents=True, exist_ok=True)
    def plate(effect=None, **kw):
        p, w, cfg = synthetic_names(root, "quick", 0, **kw)
        if effect is not None: p, w, cfg = p.with_name(p.name + f"_e{effect:g}"), w.with_name(w.name + f"_e{effect:g}"), replace(cfg, effect=effect)
        table = synth_plate(p, cfg, n_jobs=2, progress=False)
        if not (w/"crops").exists(): crop_plate(table, w, CROP_BOX_UM, masks_dir=Path(table).parent/"truth"/"labels", progress=False)
        make_split(w, 0, TEST_FRAC); return w
    wc = plate(confound=1.0, confound_kinds=("background",))
    bases = dict(clean=plate(), confounded=wc, cueonly=plate(effect=0.0, confound=1.0, confound_kinds=("background",))) | reference_crops(wc, "zero", progress=False)
    log("plates made")
    dirs = {}
    for s in a.seeds:
        for k, b in bases.items():
            d = b.with_name(f"{b.name}_m{s}")
            dirs[k, s] = d if d.exists() else linked_work(b, d)
    todo = [dict(work_dir=str(d), epochs=EPOCHS, batch_size=16, scale=PRESETS["quick"]["scale"], seed=s, test_frac=TEST_FRAC, device="cpu", threads=1, resume=True)
            for (k, s), d in dirs.items()]
    acc = {}
    with mp.get_context("spawn").Pool(2) as pool:
        for w, t, ac in pool.imap_unordered(_train, todo): acc[w] = ac; log("trained", Path(w).name, f"{t:.0f} s, test balanced accuracy {ac:.3f}")
    torch.set_num_threads(2)
    cands = [(CAM_LAYER, m, CAM_UPSAMPLE) for m in OWN_CAMS]
    res = dict(when=time.strftime("%Y-%m-%d %H:%M"), machine=machine(), seeds=a.seeds, layer=CAM_LAYER, upsampling=CAM_UPSAMPLE, rows=[])
    cells = {}
    for s in a.seeds:
        for name, (k, data) in SCORED.items():
            r = score_candidates(dirs[k, s], cands, data_dir=bases[data] if data else None, split="test", write=False, progress=False, device="cpu")
            for c, (cl, summ) in r.items(): cells[s, name, c[1]] = cl
        for m in OWN_CAMS:
            g = lambda n: cells[s, n, m].gradcamo.dropna().to_numpy()
            res["rows"].append(dict(seed=s, method=m, **{n: float(g(n).mean()) for n in SCORED},
                                    auroc_conf=auroc(g("clean_on_conf"), g("confounded")), auroc_cue=auroc(g("clean_on_cue"), g("cueonly")),
                                    **{f"acc_{k}": acc[str(dirs[k, s])] for k in bases}))
            log(res["rows"][-1])
    pool_ = lambda n, m: np.concatenate([cells[s, n, m].gradcamo.dropna().to_numpy() for s in a.seeds])
    res["pooled_auroc_conf"] = {m: auroc(pool_("clean_on_conf", m), pool_("confounded", m)) for m in OWN_CAMS}
    res["pooled_auroc_cue"] = {m: auroc(pool_("clean_on_cue", m), pool_("cueonly", m)) for m in OWN_CAMS}
    res["chance"] = float(cells[a.seeds[0], "confounded", OWN_CAMS[0]].chance.mean())
    res["n_test_cells"] = len(cells[a.seeds[0], "confounded", OWN_CAMS[0]]); res["n_test_cells_cue"] = len(cells[a.seeds[0], "cueonly", OWN_CAMS[0]])
    res["minutes"] = (time.perf_counter() - t_all)/60
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    print(render(res))

if __name__ == "__main__": main()
