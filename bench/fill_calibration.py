"""Is 06's calibration of Grad-CAMO a property of the instrument, or of the zeros it is measured on? (#14 item 2)

`06_gradcamo` calibrates the CAM with a ceiling model (trained on crops of the confounded plate with everything but the
cell removed) and a floor model (the cell removed). `mask_crops` sets the removed voxels to 0, where the network's
stem, a convolution without bias, answers exactly 0: HiResCAM at the stem is then 0 there whatever the model learned,
and the calibration partly measures that. Here the same calibration is made twice on the same plate, split, seeds and
candidate CAMs: removed voxels at 0 (`fill="zero"`, 06's), and drawn from the plate's pooled background
(`fill="noise"`, which carries no treatment), and set to that background's median (`fill="level"`). Each model's test balanced accuracy says what it could still learn.

Run after `gradcamo reproduce --preset quick` (it reuses that run's confounded plate, split and zero-fill models):
     python bench/fill_calibration.py --data runs/quick/data --out fill.json [--seeds 0 1 2]
     python bench/fill_calibration.py --render fill.json [more.json ...] > bench/FILL_CALIBRATION.md   (runs' rows together)
bench/FILL_CALIBRATION.md: --render bench/fill_calibration_cpu.json (zero, noise; 3 seeds) bench/fill_calibration_cpu_level.json (level; seed 0)
"""
import argparse, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, str(Path(__file__).resolve().parent))

LAYERS = ("_conv_stem", "_blocks.0", "_blocks.1", "_blocks.2")   # 06's candidate layers (with every own CAM and upsampling)

def render(res: dict) -> str:
    import pandas as pd
    from _common import md_table
    d = pd.DataFrame(res["rows"])
    d["range"] = d["ceiling"] - d["floor"]
    tab = d.groupby(["fill", "layer", "method", "upsampling"], sort=False).agg(
        ceiling=("ceiling", "mean"), ceiling_min=("ceiling", "min"), floor=("floor", "mean"), floor_max=("floor", "max"),
        range=("range", "mean"), range_min=("range", "min")).reset_index()
    acc = pd.DataFrame(res["acc"]).groupby(["fill", "kind"], sort=False).acc.agg(["mean", "min", "max", "count"]).reset_index()
    m = res["machine"]; best = {f: g.loc[g["range"].idxmax()] for f, g in tab.groupby("fill", sort=False)}
    dflt = tab[(tab.layer == res["layer"]) & (tab.method == res["method"]) & (tab.upsampling == res["upsampling"])].set_index("fill")
    lines = [f"# 06's calibration with the removed voxels at zero, drawn from the background, or at its level\n",
             f"Made {res['when']} by `python bench/fill_calibration.py` on {m['cpu']}, {m['cores']} cores, torch {m['torch']}; the quick "
             f"run's confounded plate and split (`{res['data']}`), training seeds by fill: "
             + ", ".join(f"{f} {sorted(set(g.seed))}" for f, g in pd.DataFrame(res["acc"]).groupby("fill", sort=False)) + f"; {res['epochs']} epochs, "
             f"every candidate CAM of 06 scored on the test wells ({res['n_cells']} cells per model). Took {res['minutes']:.0f} min.\n",
             f"- The project's CAM ({res['method']} at `{res['layer']}`, {res['upsampling']}), by fill: " + "; ".join(
                 f"{f}: ceiling {r['ceiling']:.3f} (worst seed {r['ceiling_min']:.3f}), floor {r['floor']:.3f} (worst {r['floor_max']:.3f})"
                 for f, r in dflt.iterrows()) + ". Goal of #14: ceiling >= 0.7 and floor <= 0.1 in every seed.",
             *[f"- Widest mean range with {f} fill: {r.method} at `{r.layer}`, {r.upsampling}: ceiling {r['ceiling']:.3f}, floor {r['floor']:.3f}, "
               f"range {r['range']:.3f} (worst seed {r['range_min']:.3f})." for f, r in best.items()],
             "\n## Test balanced accuracy of the reference models (3 treatments: chance 0.333)\n", md_table(acc.round(3), index=False),
             "\n## Every candidate CAM, mean over seeds (min / max: the worst seed)\n", md_table(tab.round(3), index=False), ""]
    return "\n".join(lines)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="a quick run's data folder (runs/quick/data)"); ap.add_argument("--out", default="fill.json")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2]); ap.add_argument("--render", nargs="+")
    ap.add_argument("--fills", nargs="+", default=["zero", "noise", "level"])
    a = ap.parse_args()
    if a.render:
        runs = [json.loads(Path(f).read_text()) for f in a.render]   # several runs (e.g. other fills or seeds): their rows together
        res = runs[0] | dict(rows=[r for x in runs for r in x["rows"]], acc=[r for x in runs for r in x["acc"]], minutes=sum(x["minutes"] for x in runs))
        print(render(res)); return
    import pandas as pd
    from _common import machine
    from gradcamo.data import PRESETS, TEST_FRAC, CAM_LAYER, CAM_METHOD, CAM_UPSAMPLE
    from gradcamo.crop import synthetic_names, reference_crops
    from gradcamo.train import seed_work, train
    from gradcamo.cam import score_candidates, OWN_CAMS, UPSAMPLINGS
    cands = [(l, m, u) for l in LAYERS for m in OWN_CAMS for u in UPSAMPLINGS]
    t_all = time.perf_counter(); epochs, scale = PRESETS["quick"]["epochs"], PRESETS["quick"]["scale"]
    wc = synthetic_names(a.data, "quick", 0, confound=1.0, confound_kinds=("background",))[1]     # 06's confounded plate (seed 0)
    if not (wc/"split.csv").exists(): sys.exit(f"{wc}: not found or without its split; run `gradcamo reproduce --preset quick` first.")
    bases = {}
    for f in a.fills:                # 06's names (its noise-fill models are reused)
        bases |= {(f, k): d for k, d in reference_crops(wc, f, progress=False).items()}
    res = dict(when=time.strftime("%Y-%m-%d %H:%M"), machine=machine(), data=str(a.data), seeds=a.seeds, epochs=epochs, layer=CAM_LAYER,
               method=CAM_METHOD, upsampling=CAM_UPSAMPLE, rows=[], acc=[])
    for (f, k), b in bases.items():
        for s in a.seeds:
            d = seed_work(b, s)                                                          # 06's layout: seed 0 in the plate's own folder
            h = train(d, epochs, 16, scale=scale, seed=s, test_frac=TEST_FRAC, resume=True, progress=False)
            res["acc"].append(dict(fill=f, kind=k, seed=s, acc=float(h.test_acc.iloc[-1])))
            sc = score_candidates(d, cands, split="test", progress=False, write=False)
            res["n_cells"] = int(next(iter(sc.values()))[1]["n_cells"])
            for c, (_, summ) in sc.items():
                res["rows"].append(dict(fill=f, kind=k, seed=s, layer=c[0], method=c[1], upsampling=c[2], value=float(summ["gradcamo_mean"])))
            print(f"[{time.perf_counter() - t_all:6.0f} s] {f} {k} seed {s}: test balanced accuracy {res['acc'][-1]['acc']:.3f}", flush=True)
    r = pd.DataFrame(res["rows"]).pivot_table(index=["fill", "layer", "method", "upsampling", "seed"], columns="kind", values="value", sort=False).reset_index()
    res["rows"] = r.to_dict("records"); res["minutes"] = (time.perf_counter() - t_all)/60
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    print(render(res))

if __name__ == "__main__": main()
