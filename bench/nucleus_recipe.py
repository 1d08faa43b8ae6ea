"""Which training recipe makes the offline nucleus segmenter best on nuclei it never saw, over training seeds (#15).

Each recipe is an entry of `gradcamo.segment.SEG_RECIPE["nucleus"]`: the share of the training plate's resolution the
segmenter works at (`scale`: 0.5 is 1 µm/px on the quick plate's 0.5 µm grid, 1.0 is the plate's own 0.5 µm/px), its
training tiles (`bsize`, px) and its `varied_nuclei` images (drawn at the working pixel size; `draw`: `varied_nuclei`'s
`closest` and `dome`: how close touching nuclei press, how domed their profiles may be). For each recipe and seed
(both the segmenter's plate seed and its training seed) the segmenter is trained from scratch (`train_segmenter`) and
scored by `real_scores`, exactly as `02_segment` scores the default: stardist's real 2D image (DSB 2018) and its
synthetic 3D stack, each at the voxel size that makes its median nucleus 9 µm. Recipes and seeds run in parallel
processes (on the GPU when there is one). Writes a JSON of every row and bench/NUCLEUS_RECIPE.md.

Run: .venv/bin/python bench/nucleus_recipe.py [--recipes today full64 full128] [--seeds 1000 1001 1002] [--procs 9] [--epochs N]
     (--keep DIR keeps each trained model in DIR/<recipe>_<seed>/)
     .venv/bin/python bench/nucleus_recipe.py --from-json bench/nucleus_recipe.json   (the markdown again, from the rows)
"""
import argparse, json, os, shutil, tempfile, time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from unittest.mock import patch
import pandas as pd
import sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine, md_table

RECIPES = {"today": dict(scale=0.5, bsize=64, varied=1000),      # 1 µm/px, 64 px tiles; varied nuclei closest 0.7, dome 1 (the default until flatcloser)
           "full64": dict(scale=1.0, bsize=64, varied=1000),     # 0.5 µm/px, same tiles: the same compute a step, a quarter of the field
           "full128": dict(scale=1.0, bsize=128, varied=1000),   # 0.5 µm/px, the same field a tile as today: 4x the pixels a step
           "close50": dict(scale=0.5, bsize=64, varied=1000, draw=dict(closest=0.5)),   # today's, with varied nuclei pressed closer (wider contacts)
           "flat": dict(scale=0.5, bsize=64, varied=1000, draw=dict(dome=0.3)),          # today's, with flatter nuclei: no dim seam where two touch
           "flatclose": dict(scale=0.5, bsize=64, varied=1000, draw=dict(closest=0.5, dome=0.3)),
           "flatcloser": dict(scale=0.5, bsize=64, varied=1000, draw=dict(closest=0.4, dome=0.15)),   # the default since it was measured here
           "flattest": dict(scale=0.5, bsize=64, varied=1000, draw=dict(closest=0.3, dome=0.0)),   # both (bench/NUCLEUS_MERGES.md: the real
                                                                                # merged pairs touch widely, with no dip between them)
           "flatcloser_orth": dict(scale=0.5, bsize=64, varied=1000, draw=dict(closest=0.4, dome=0.15), orthogonal=6),   # flatcloser, and every
                                                # 6th xz and yz plane of the plate (isotropic at 1 µm): the views cellpose's 3D mode also segments
           "flatcloser_orth_zblur": dict(scale=0.5, bsize=64, varied=1000, draw=dict(closest=0.4, dome=0.15), orthogonal=6, z_blur=4.0)}   # and
                                                # each plate field blurred along z (sigma up to 4 µm, a widefield stack's axial blur)

def one(name, seed, epochs, threads, scratch, varied=None, keep=None):
    import torch
    torch.set_num_threads(threads)
    from gradcamo.segment import SEG_RECIPE, train_segmenter, real_scores
    d = Path(scratch)/f"{name}_{seed}"
    try:                                                     # the recipe replaces the default's entry whole (a key it lacks: varied_nuclei's default)
        with patch.dict(SEG_RECIPE["nucleus"], RECIPES[name] | ({} if varied is None else dict(varied=varied)), clear=True):
            t0 = time.time(); train_segmenter("nucleus", "quick", seed, epochs, d/"cache", progress=False); t_train = time.time() - t0
            t0 = time.time(); real, _ = real_scores(d/"real", cache=d/"cache", seg_preset="quick", seg_seed=seed, seg_epochs=epochs, factors=(1.0,))
        rows = [dict(recipe=name, seed=seed, sample=r.sample, mode=r.mode, ap50=r.ap50, ap75=r.ap75, n_true=r.n_true, n_pred=r.n_pred,
                     splits=r.splits, merges=r.merges, z_ratio=r.z_ratio, train_s=t_train, score_s=time.time() - t0) for r in real.itertuples()]
        print(json.dumps(rows[0]), flush=True)
        if keep: shutil.copytree(d/"cache"/"segmenters", Path(keep)/f"{name}_{seed}")   # the trained model, for other measurements
        return rows
    finally:
        shutil.rmtree(d, ignore_errors=True)
        from joblib.externals.loky import get_reusable_executor
        get_reusable_executor().shutdown(wait=True)   # the plate's joblib workers: left idle, they hold this process for their 300 s timeout

def render(d: dict) -> list:
    "One run's section of the markdown, from its JSON."
    m, r = d["machine"], pd.DataFrame(d["rows"])
    r = r.sort_values(["recipe", "seed"], key=lambda c: c.map({n: i for i, n in enumerate(RECIPES)}) if c.name == "recipe" else c, kind="stable")
    r["case"] = r["sample"] + " " + r["mode"]
    agg = r.groupby(["recipe", "case"], sort=False).ap50.agg(["mean", "min", "max"]).unstack("case")
    agg.columns = [f"{c} AP50 {s}" for s, c in agg.columns]
    agg["train s (mean)"] = r.groupby("recipe", sort=False).train_s.mean()
    L = [f"## {m['gpu'] or 'CPU only'}: {', '.join(d['recipes'])}", "",
         f"Measured {d['measured']} by `{d['command']}` in {d['minutes']:.1f} min on {m['gpu'] or 'no GPU'}, {m['cpu']}, {m['cores']} cores "
         f"(torch {m['torch']}, cellpose {m['cellpose']}); {d['epochs']} epochs, {len(r.groupby(['recipe', 'seed']))} trainings {d['procs']} at a time "
         f"(the seconds are per training under that load: plate, varied images, flows, training). Recipes (`SEG_RECIPE['nucleus']`):", ""]
    L += [f"- `{n}`: {v}" for n, v in d["recipes"].items()]
    L += ["", md_table(r[[c for c in ["recipe", "seed", "sample", "mode", "ap50", "ap75", "n_true", "n_pred", "splits", "merges", "z_ratio", "train_s"] if c in r]], index=False), "",
          "Per recipe over seeds (AP@0.5 mean, min, max):", "", md_table(agg.sort_index(axis=1)), ""]
    return L

def pooled(runs: list) -> list:
    "Every run's rows pooled per machine kind (the GPU, or the CPU) and recipe: AP@0.5 mean, min and max over all the seeds measured."
    r = pd.concat([pd.DataFrame(d["rows"]).assign(machine=d["machine"]["gpu"] or d["machine"]["cpu"], epochs=d["epochs"]) for d in runs])
    r["case"] = r["sample"] + " " + r["mode"]
    agg = r.groupby(["machine", "recipe", "epochs", "case"], sort=False).ap50.agg(["mean", "min", "max"]).unstack("case")
    agg.columns = [f"{c} AP50 {s}" for s, c in agg.columns]
    agg["seeds"] = r.groupby(["machine", "recipe", "epochs"], sort=False).seed.nunique()
    return ["## All runs pooled, per machine, recipe and training length", "",
            "The sections below, their rows pooled: AP@0.5 mean, min and max over every seed measured on that kind of machine "
            "(a GPU and a CPU train apart after the first steps, and two CPU kinds round differently, so machines are not pooled).", "",
            md_table(agg.sort_index(axis=1)), ""]

if __name__ == "__main__":
    from gradcamo.data import PRESETS
    ap = argparse.ArgumentParser(); ap.add_argument("--recipes", nargs="+", default=list(RECIPES)); ap.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001, 1002])
    ap.add_argument("--epochs", type=int, default=PRESETS["quick"]["seg_epochs_nucleus"]); ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--from-json", nargs="+", default=None, help="only render the markdown, one section per JSON this script wrote")
    ap.add_argument("--varied", type=int, default=None, help="override the recipes' number of varied images (a smoke test)")
    ap.add_argument("--keep", default=None, help="copy each trained model into KEEP/<recipe>_<seed>/ (default: removed with the scratch folder)")
    ap.add_argument("--json", default=str(Path(__file__).with_name("nucleus_recipe.json"))); ap.add_argument("--out", default=str(Path(__file__).with_name("NUCLEUS_RECIPE.md")))
    a = ap.parse_args()
    if a.from_json: runs = [json.loads(Path(f).read_text()) for f in a.from_json]
    else:
        t_all, m, rows = time.time(), machine(), []
        jobs = [(n, s) for n in a.recipes for s in a.seeds]
        threads = max(1, (os.cpu_count() or 1)//min(a.procs, len(jobs)))
        run = lambda: dict(machine=m, measured=time.strftime('%Y-%m-%d %H:%M'), command="python bench/nucleus_recipe.py " + " ".join(sys.argv[1:]),
                           epochs=a.epochs, procs=a.procs, minutes=(time.time() - t_all)/60, recipes={n: RECIPES[n] for n in a.recipes}, rows=rows)
        save = lambda: Path(a.json).write_text(json.dumps(run(), indent=1, default=float))
        scratch = tempfile.mkdtemp(prefix="nucleus-recipe-")
        try:
            with ProcessPoolExecutor(a.procs, mp_context=get_context("spawn")) as ex:
                for f in as_completed([ex.submit(one, n, s, a.epochs, threads, scratch, a.varied, a.keep) for n, s in jobs]):
                    rows += f.result(); save()          # each finished training kept, whatever stops the rest
        finally: shutil.rmtree(scratch, ignore_errors=True)
        save(); runs = [run()]
    L = ["# The offline nucleus segmenter's training recipe, over seeds (#15)", "",
         "Each row: one recipe and seed, the segmenter trained from scratch and scored by `real_scores` (as `02_segment` scores the default) "
         "at the declared voxel size (factor 1).", ""]
    if len(runs) > 1: L += pooled(runs)
    for d in runs: L += render(d)
    Path(a.out).write_text("\n".join(L)); print("\n".join(L))
