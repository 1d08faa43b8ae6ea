"""How often does one seed of `06`'s experiment pass `06`'s own checks? (#14 items 2, 3 and 5.)

`gradcamo reproduce --preset quick` stops in `06` when any of its three seeds misses a per-seed check (the calibration:
floor <= 0.1 and ceiling - floor > 0.25; the contrast: both well intervals of clean - confounded above 0; the ceiling
above its untrained network; the broken cue costing the confounded model > 0.1 balanced accuracy). It passed on the
Intel Xeon that made the committed run and stopped on an AMD EPYC (same code, same seeds: the CPUs' float kernels train
other models). This runs `06`'s experiment exactly as `06` does (the same calls: `synthetic_crops`, `make_split`,
`reference_crops(..., "noise")`, `seed_work`, `train`, `cheat_experiment` at the default reading, `score_cells(...,
untrained=True)`) for more seeds on one machine, so the per-seed pass rate, and with it the chance that 3 seeds all
pass, is measured rather than guessed. Seeds 0-2 are 06's own: on the machine that stopped they must give its numbers.

Run: python bench/cheat_seeds.py --out cheat_seeds.json [--preset quick] [--seeds 0 1 2 3 4 5 6 7] [--epochs 12]
     python bench/cheat_seeds.py --render cheat_seeds.json [more.json ...] > bench/CHEAT_SEEDS.md   (several: other seeds' runs, combined)
"""
import argparse, json, os, shutil, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CHECKS = {   # 06's per-seed asserts at quick, by name (06_gradcamo, the cell that ends with them)
    "floor <= 0.1": lambda r: r["floor"] <= 0.1,
    "ceiling - floor > 0.25": lambda r: r["ceiling"] - r["floor"] > 0.25,
    "same-image interval > 0": lambda r: r["diff_lo"] > 0,
    "own-plate interval > 0": lambda r: r["own_diff_lo"] > 0,
    "ceiling > untrained": lambda r: r["ceiling"] - r["untrained_ceiling"] > 0,
    "broken cue costs > 0.1": lambda r: r["broken_acc"] < r["confounded_acc"] - 0.1,
}

STOPPED = {0: (0.533225, 0.077013), 1: (0.372468, 0.048679), 2: (0.518028, 0.152374)}   # seed: (ceiling, floor) as 06's assert printed them in the stopped run of bench/REPRODUCE.md

def combine(parts: list) -> dict:
    "One result from runs of other seeds with the same settings on one machine kind: rows joined; the pooled AUROC over all cells where every run kept its cells, else each run's own."
    keys = ("preset", "epochs", "scale", "reading", "n_test_cells", "n_test_wells")
    bad = [k for k in keys if any(q[k] != parts[0][k] for q in parts)] + (["cpu"] if any(q["machine"]["cpu"] != parts[0]["machine"]["cpu"] for q in parts) else [])
    if bad: raise SystemExit(f"cannot combine runs that differ in {bad}")
    rows = [r for q in parts for r in q["rows"]]
    if len({r["seed"] for r in rows}) < len(rows): raise SystemExit(f"a seed appears in two runs: {sorted(r['seed'] for r in rows)}")
    out = dict(parts[0], rows=rows, minutes=sum(q["minutes"] for q in parts),
               when=", ".join(q["when"] for q in parts), parts=[dict(when=q["when"], file=q.get("file"), seeds=[int(r["seed"]) for r in q["rows"]], pooled_auroc=q["pooled_auroc"]) for q in parts])
    if all("cells" in q for q in parts):
        import numpy as np
        from gradcamo.cam import auroc
        cells = [c for q in parts for c in q["cells"].values()]
        out["pooled_auroc"] = auroc(np.concatenate([c["clean"] for c in cells]), np.concatenate([c["confounded"] for c in cells]))
    else: out["pooled_auroc"] = None
    return out

def render(res: dict) -> str:
    import pandas as pd
    from scipy import stats
    from _common import md_table
    m = res["machine"]; r = pd.DataFrame(res["rows"]).astype({"seed": int})
    ok = pd.DataFrame({k: r.apply(f, axis=1) for k, f in CHECKS.items()})
    r["failed"] = ok.apply(lambda x: ", ".join(k for k, v in x.items() if not v) or "-", axis=1)
    n, k = len(r), int(ok.all(axis=1).sum()); p = k/n
    at_preset = res["epochs"] == res.get("preset_epochs", res["epochs"])   # 06's own training length
    w = stats.binomtest(k, n).proportion_ci(method="wilson")             # the per-seed pass rate's 95% interval
    reliance = r.confounded_acc - r.broken_acc
    rho, rho_d = stats.spearmanr(reliance, r.confounded_gradcamo), stats.spearmanr(reliance, r["diff"])   # across models
    t = {c: stats.t.interval(0.95, n - 1, r[c].mean(), stats.sem(r[c])) for c in ("diff", "own_diff")}   # seeds as replicates
    cols = ["seed", "ceiling", "floor", "untrained_ceiling", "diff", "diff_lo", "own_diff_lo", "auroc", "paired_share",
            "clean_acc", "confounded_acc", "broken_acc", "ceiling_acc", "floor_acc", "failed"]
    L = ["# How often one seed of 06's experiment passes 06's checks (#14)", "",
         f"Measured {res['when']} by `python bench/cheat_seeds.py` in {res['minutes']:.1f} min on {m['cpu']} ({m['cores']} cores; torch {m['torch']}, "
         f"MONAI {m['monai']}). `06`'s experiment at `{res['preset']}` exactly as `06` runs it ({res['epochs']} epochs"
         f"{'' if at_preset else ' instead of the preset' + chr(39) + 's ' + str(res['preset_epochs'])}, input scale {res['scale']}, "
         f"reading {res['reading']}), one row per training seed; {res['n_test_cells']} test cells in {res['n_test_wells']} test wells, chance {res['chance']:.3f}.", "",
         *([f"{len(res['parts'])} runs of other seeds, combined by `python bench/cheat_seeds.py --render {' '.join(q['file'] for q in res['parts'])}`: "
            + "; ".join(f"seeds {q['seeds'][0]}-{q['seeds'][-1]} measured {q['when']}" for q in res["parts"]) + ".", ""] if "parts" in res else []),
         md_table(r[cols], index=False), "",
         f"Seeds passing every per-seed check of `06`: **{k} of {n}**. " + "; ".join(f"{c}: {int(ok[c].sum())}/{n}" for c in CHECKS) + ".", "",
         f"If seeds pass independently at this rate, three seeds (what `06` trains at quick) all pass with probability "
         f"{p:.3f}^3 = **{p**3:.3f}**; a Wilson 95% interval of the per-seed rate is {w.low:.3f}-{w.high:.3f}, "
         f"so {w.low**3:.3f}-{w.high**3:.3f} for three.",
         f"Clean - confounded on the same images, with the training seed as the replicated unit: above 0 in {int((r['diff'] > 0).sum())} of {n} seeds, "
         f"mean {r['diff'].mean():.3f} (95% t-interval over seeds {t['diff'][0]:.3f} to {t['diff'][1]:.3f}); "
         f"each on its own plate: above 0 in {int((r.own_diff > 0).sum())} of {n}, mean {r.own_diff.mean():.3f} ({t['own_diff'][0]:.3f} to {t['own_diff'][1]:.3f}).",
         (f"Pooled over all {n} seeds: per-cell AUROC clean vs confounded on the same images {res['pooled_auroc']:.3f} (goal 0.85); " if res["pooled_auroc"] is not None else
          f"Per-cell AUROC clean vs confounded on the same images, pooled over each run's seeds (an earlier run kept no cells to pool across runs): "
          + "; ".join(f"seeds {q['seeds'][0]}-{q['seeds'][-1]} {q['pooled_auroc']:.3f}" for q in res["parts"]) + f"; the mean of the {n} seeds' own {r.auroc.mean():.3f} (goal 0.85); ") +
         f"ceiling mean {r.ceiling.mean():.3f} (goal 0.7 in every seed), floor mean {r.floor.mean():.3f}.", ""]
    if n >= 5:   # a rank correlation over fewer models says nothing
        L += [f"Does the reading follow how much a model cheats? Across the {n} confounded models, the balanced accuracy each loses "
              f"when the cue is shuffled (`confounded_acc` - `broken_acc`, its reliance on the cue) against its mean Grad-CAMO on "
              f"its test cells: Spearman rho {rho.statistic:.2f} (p {rho.pvalue:.2f}; negative: the more a model relies on the cue, "
              f"the less of its attention is on the cell); against the clean - confounded difference on the same images: rho "
              f"{rho_d.statistic:.2f} (p {rho_d.pvalue:.2f}).", ""]
    same = [int(x.seed) for x in r.itertuples() if x.seed in STOPPED and (round(x.ceiling, 6), round(x.floor, 6)) == STOPPED[x.seed]]
    if any(x in STOPPED for x in r.seed) and at_preset:
        L += [f"The stopped reproduce on an AMD EPYC (`bench/REPRODUCE.md`) printed ceiling and floor to 6 decimals for seeds 0-2; "
              f"this run gives the same 6 decimals for seed(s) {same or 'none'} of {sorted(set(r.seed) & set(STOPPED))}.", ""]
    return "\n".join(L)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="cheat_seeds.json"); ap.add_argument("--preset", default="quick")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(8))); ap.add_argument("--epochs", type=int, default=None, help="training epochs (default: the preset's, as 06)"); ap.add_argument("--render", nargs="+", default=None, help="JSON file(s) to render; several: runs of other seeds, combined")
    ap.add_argument("--keep", default=None, help="a folder to keep the plates and models in (default: a temporary one, removed at the end)")
    a = ap.parse_args()
    if a.render:
        parts = [dict(json.loads(Path(f).read_text()), file=f) for f in a.render]
        print(render(parts[0] if len(parts) == 1 else combine(parts))); return
    import numpy as np
    from gradcamo.data import PRESETS, CAM_LAYER, CAM_METHOD, CAM_UPSAMPLE, CAM_REFERENCE, CAM_SMOOTH
    from gradcamo.crop import synthetic_crops, reference_crops
    from gradcamo.train import train, make_split, load_split, seed_work
    from gradcamo.cam import cheat_experiment, score_cells, auroc
    from _common import machine
    t_all = time.perf_counter(); seed, test_frac = 0, 0.5        # 06's parameters at quick
    epochs, scale = a.epochs or PRESETS[a.preset]["epochs"], PRESETS[a.preset]["scale"]
    rd = dict(layer=CAM_LAYER, method=CAM_METHOD, upsampling=CAM_UPSAMPLE, reference=CAM_REFERENCE, smooth=CAM_SMOOTH)
    res = dict(when=time.strftime("%Y-%m-%d %H:%M"), machine=machine(), preset=a.preset, epochs=epochs, preset_epochs=PRESETS[a.preset]["epochs"], scale=scale, reading=list(rd.values()), rows=[])
    save = lambda: Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    def log(*s): print(f"[{time.perf_counter() - t_all:7.1f} s]", *s, flush=True)
    if a.keep: root = Path(a.keep); root.mkdir(parents=True, exist_ok=True)
    else:
        root = Path(tempfile.mkdtemp(prefix="cheat_seeds_"))
        import atexit; atexit.register(shutil.rmtree, root, True)   # plates and models go however the run ends: only the JSON stays
    work = synthetic_crops(root, a.preset, seed)
    wc = synthetic_crops(root, a.preset, seed, confound=1.0, confound_kinds=("background",))
    wb = synthetic_crops(root, a.preset, seed, confound=1.0, confound_map="shuffled", confound_kinds=("background",))
    make_split(work, seed, test_frac); make_split(wc, seed, test_frac)     # 06: `train(work, seed=0)` makes the first, then `make_split(wc, seed, test_frac)`
    bases = dict(clean=work, confounded=wc) | reference_crops(wc, "noise", progress=False)
    log("plates made")
    pooled = ([], [])
    for s in a.seeds:
        t0 = time.perf_counter()
        dirs = {(k, s): seed_work(bases[k], s, first=seed) for k in bases}
        for (k, _), w in dirs.items(): train(w, epochs, 16, scale=scale, seed=s, test_frac=test_frac, resume=True, progress=False)
        per, sc = cheat_experiment(dirs, wc, wb, **rd, write=False)
        r = per.iloc[0].to_dict()
        r["untrained_ceiling"] = score_cells(dirs["ceiling", s], **rd, split="test", progress=False, untrained=True, write=False)[1]["gradcamo_mean"]
        r["minutes"] = (time.perf_counter() - t0)/60
        res["rows"].append({k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()})
        for i, k in enumerate(("clean", "confounded")): pooled[i].append(sc[k, s][0].gradcamo.dropna().to_numpy())
        res.setdefault("cells", {})[str(s)] = {k: pooled[i][-1].tolist() for i, k in enumerate(("clean", "confounded"))}   # to pool runs (`combine`)
        res["pooled_auroc"] = auroc(np.concatenate(pooled[0]), np.concatenate(pooled[1]))
        res["n_test_cells"], res["chance"] = int(r["n_cells"]), float(r["chance"])
        res["n_test_wells"] = int(load_split(wc).query("Metadata_Split == 'test'").Metadata_Well.nunique())
        res["minutes"] = (time.perf_counter() - t_all)/60; save()
        log(f"seed {s}: ceiling {r['ceiling']:.3f} floor {r['floor']:.3f} diff_lo {r['diff_lo']:.3f} own_diff_lo {r['own_diff_lo']:.3f} "
            f"broken {r['broken_acc']:.3f} vs {r['confounded_acc']:.3f}; {r['minutes']:.1f} min")
    print(render(res))

if __name__ == "__main__": main()
