"""Two more gradient CAMs for 06's calibration: LayerCAM (Jiang et al. 2021: activations times the positive gradient,
made to localise from shallow layers) and pytorch-grad-cam's element-wise Grad-CAM (the positive products summed), read
on 06's own reference models beside Grad-CAM and HiResCAM, over 06's whole candidate grid (layers x upsamplings x
references x smoothings), and then in 06's experiment at each kind's widest-range reading.

Reuses a quick run's models (`gradcamo reproduce --preset quick` first; nothing is trained here):

    python bench/cam_kinds.py --data runs/quick/data --out bench/cam_kinds_cpu_amd.json
    python bench/cam_kinds.py --render bench/cam_kinds_cpu_amd.json > bench/CAM_KINDS.md
"""
import argparse, json, os, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
KEY = ["layer", "method", "upsampling", "reference", "smooth"]

def render(r):
    import pandas as pd
    from _common import md_table
    cal = pd.DataFrame(r["cal"])
    g = cal.groupby(KEY, sort=False).agg(ceiling=("ceiling", "mean"), floor=("floor", "mean"), range=("range", "mean"),
                                         range_min=("range", "min"), ceiling_min=("ceiling", "min"), floor_max=("floor", "max")).reset_index()
    top = g.sort_values("range", ascending=False).groupby("method", sort=False).head(3)
    exp = pd.DataFrame(r["experiment"])
    out = [f"# LayerCAM and element-wise Grad-CAM in 06's calibration\n",
           f"Run {r['when']} by `python bench/cam_kinds.py --data {r['data']}` on {r['machine']['cpu']}, {r['machine']['cores']} cores, torch {r['machine']['torch']}; 06's reference models of seeds "
           f"{', '.join(map(str, r['seeds']))} (the noise fill), trained by the quick run and only scored here ({len(g)} readings, "
           f"{r['minutes']:.1f} min). Ceiling and floor: mean Grad-CAMO of test cells; the goal is ceiling >= 0.7 and floor <= 0.1 in "
           f"every seed. 06's choice (the default reading) is `{' '.join(map(str, r['default']))}`." + (f" {r['note']}" if r.get("note") else "") + "\n",
           "## The three widest mean ranges of each kind\n",
           md_table(top, index=False), "",
           "## The experiment at each kind's widest reading (06's clean vs confounded models, same images)\n",
           "Per seed: clean and confounded means, the well-bootstrap interval's low end of their difference; pooled per-cell AUROC over seeds.\n",
           md_table(exp, index=False), ""]
    return "\n".join(out)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="runs/quick/data"); ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", default="cam_kinds.json"); ap.add_argument("--render")
    a = ap.parse_args()
    if a.render: print(render(json.loads(Path(a.render).read_text()))); return
    import numpy as np, pandas as pd
    from _common import machine
    from gradcamo.data import CAM_LAYER, CAM_METHOD, CAM_UPSAMPLE, CAM_REFERENCE, CAM_SMOOTH
    from gradcamo.crop import synthetic_names, reference_crops
    from gradcamo.train import seed_work
    from gradcamo.cam import score_candidates, cheat_experiment, auroc, OWN_CAMS, UPSAMPLINGS, REFERENCES
    t_all = time.perf_counter()
    work = synthetic_names(a.data, "quick", 0)[1]
    wc = synthetic_names(a.data, "quick", 0, confound=1.0, confound_kinds=("background",))[1]
    bases = dict(clean=work, confounded=wc) | reference_crops(wc, "noise", progress=False)
    dirs = {(k, s): seed_work(b, s) for s in a.seeds for k, b in bases.items()}
    missing = [str(d) for d in dirs.values() if not sorted((d/"train").glob("ckpt_*.pt"))]
    if missing: sys.exit(f"no trained model in {missing[:2]}...: run `gradcamo reproduce --preset quick` (06) first.")
    layers, smooths = ("_conv_stem", "_blocks.0", "_blocks.1", "_blocks.2"), (0.0, 1.0, 2.0, 4.0)   # 06's grid
    cands = [(l, m, u, r, g) for l in layers for m in OWN_CAMS for u in UPSAMPLINGS for r in REFERENCES for g in smooths]
    default = (CAM_LAYER, CAM_METHOD, CAM_UPSAMPLE, CAM_REFERENCE, float(CAM_SMOOTH))
    sc = {(k, s): score_candidates(dirs[k, s], cands, split="test", progress=False, write=False) for s in a.seeds for k in ("ceiling", "floor")}
    print(f"[{time.perf_counter() - t_all:6.0f} s] scored {len(cands)} readings of {len(sc)} reference models", flush=True)
    cal = pd.DataFrame([dict(zip(KEY, c), seed=s, ceiling=sc["ceiling", s][c][1]["gradcamo_mean"], floor=sc["floor", s][c][1]["gradcamo_mean"])
                        for c in cands for s in a.seeds])
    cal["range"] = cal.ceiling - cal.floor
    mean = cal.groupby(KEY, sort=False).range.mean()
    best = {m: mean.xs(m, level="method").idxmax() for m in OWN_CAMS}
    exp, ci = [], cal.set_index(KEY + ["seed"])
    for m, (l, u, r, g) in best.items():
        reading = (l, m, u, r, float(g))
        per_seed, out = cheat_experiment({kk: d for kk, d in dirs.items() if kk[0] in ("clean", "confounded")}, wc, None, *reading, write=False)
        pa, pb = (np.concatenate([out[k, s][0].gradcamo.dropna().to_numpy() for s in a.seeds]) for k in ("clean", "confounded"))
        for row in per_seed.itertuples():
            ref = ci.loc[reading + (row.seed,)]
            exp.append(dict(reading=" ".join(map(str, reading)), seed=int(row.seed), ceiling=float(ref.ceiling), floor=float(ref.floor),
                            clean=float(row.clean_on_confounded_gradcamo), confounded=float(row.confounded_gradcamo), diff_lo=float(row.diff_lo),
                            pooled_auroc=auroc(pa, pb)))
        print(f"[{time.perf_counter() - t_all:6.0f} s] experiment at {reading}: pooled AUROC {auroc(pa, pb):.3f}", flush=True)
    res = dict(when=time.strftime("%Y-%m-%d %H:%M"), machine=machine(), data=str(a.data), seeds=a.seeds, default=list(default),
               cal=cal.to_dict("records"), experiment=exp, minutes=(time.perf_counter() - t_all)/60)
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    print(render(res))

if __name__ == "__main__": main()
