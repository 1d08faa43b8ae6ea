"""Can a CAM read relative to the plate's background keep 06's calibration when the removed voxels are not zeros? (#14 item 2)

bench/FILL_CALIBRATION.md found 06's calibrated range (HiResCAM on the stem) to be in good part a property of the
zeros the reference models are trained on: the bias-free stem answers exactly 0 there. With the removed voxels at the
background's level or drawn from it, no candidate CAM of 06 kept the ceiling the goal asks for. A
gradient-times-activation map is relative to an input of 0, and 0 is the plate's 1st intensity percentile, not its
background. Here every candidate is also read relative to the background: the activations of an input that is the
plate's background level everywhere (per channel, the median of the pooled background voxels, as `mask_crops` fills
with) are subtracted before the map is formed (`bl`), and the signed map is smoothed by a Gaussian before Grad-CAM's ReLU
(sigma in units of a stem voxel, whatever the layer), so a zero-mean response to background noise can cancel instead
of being half kept. Same plate, split, seeds and training as 06 and bench/FILL_CALIBRATION.md; the reference models
with each fill (zero: 06's own, reused), and the clean and confounded models of 06's experiment (per-cell AUROC of
the clean vs the confounded model on the same images, and each on its own plate). And the test bench/CUE_ONLY.md
set 06's reading: a cue-only model, trained on a plate drawn like the confounded one with no treatment effect in the
cells (it can only read the cue), against the clean model on the same images (that plate's test wells).

     python bench/background_cam.py --data runs/quick/data --out bg.json [--seeds 0 1 2]   (trains what is missing; about 2 min a model here)
     python bench/background_cam.py --render bg.json > bench/BACKGROUND_CAM.md
     python bench/background_cam.py --data runs/quick/data --figure bench/background_cam.png   (after a run: one cell, its CAMs)
bench/BACKGROUND_CAM.md: --render bench/background_cam_cpu.json; bench/background_cam.png: --figure
"""
import argparse, functools, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, str(Path(__file__).resolve().parent))

LAYERS = ("_conv_stem", "_blocks.0", "_blocks.1")
SIGMAS = (0, 0.5, 1, 2)
FILLS = ("zero", "level", "noise")
KINDS = ("clean_own", "clean", "confounded") + tuple(f"{k}_{f}" for f in FILLS for k in ("ceiling", "floor")) + ("cueonly", "clean_on_cue")

def smooth(cam, sigma: float):
    "A (B, d, h, w) map smoothed by a Gaussian of `sigma` voxels in each spatial axis (scipy; edges replicated, cut at 3 sigma); 0: unchanged."
    import torch
    from scipy.ndimage import gaussian_filter
    if sigma == 0: return cam
    return torch.from_numpy(gaussian_filter(cam.numpy(), (0, sigma, sigma, sigma), mode="nearest", truncate=3.0))

@functools.lru_cache
def _level(plate_dir: str):
    "Per channel, the median of a plate's pooled background voxels (`mask_crops(fill=\"level\")`'s value): read once per plate."
    import numpy as np, torch
    from gradcamo.crop import CropStore, _background_pool
    return torch.tensor([float(np.median(p)) for p in _background_pool(CropStore(plate_dir))])

def _maps(model_dir, data_dir=None, level_from=None, idx=None):
    """Per batch of the test cells of `data_dir` (the model's split), or of the crops `idx`: positions, images, label crops and
    {(layer, kind, ref, sigma): non-negative CAM at the crop's resolution}, nearest upsampling, the predicted class as target."""
    import numpy as np, torch
    from gradcamo.crop import CropStore
    from gradcamo.train import load_checkpoint, load_split, batches, prep
    from gradcamo.cam import upsample
    data = Path(data_dir or model_dir); store = CropStore(data); t = load_split(data, split_from=model_dir)
    model, _, st = load_checkpoint(model_dir, None, "cpu")
    level = _level(str(level_from or data))                    # of the plate the crops came from
    box, ref = {}, None        # hooks: written before GradCAM3D had a reference input; 06's calibration (GradCAM3D) reproduces this bench's per-seed ceilings and floors
    hs = [model.get_submodule(l).register_forward_hook(lambda m, i, o, l=l: box.__setitem__(l, o)) for l in LAYERS]
    try:
        for pos, x, lab in batches(store, np.flatnonzero(t.Metadata_Split == "test") if idx is None else np.asarray(idx), 16):
            xin = prep(x, st["scale"])
            if ref is None:                                     # the activations of an empty background, once
                with torch.no_grad(): model(level.view(1, -1, 1, 1, 1).expand(1, *xin.shape[1:]).contiguous())
                ref = {l: box[l].detach() for l in LAYERS}
            with torch.enable_grad():
                out = model(xin); acts = [box[l] for l in LAYERS]; tg = out.argmax(1)
                grads = torch.autograd.grad(out.gather(1, tg[:, None]).sum(), acts)
            cams = {}
            for l, a, g in zip(LAYERS, acts, grads):
                a = a.detach(); w = g.flatten(2).mean(-1)[..., None, None, None]
                for kind in ("hirescam", "gradcam"):
                    for nm, aa in (("raw", a), ("bl", a - ref[l])):
                        cam = (g*aa).sum(1) if kind == "hirescam" else (w*aa).sum(1)
                        for s in SIGMAS:
                            cams[l, kind, nm, s] = upsample(smooth(cam, s*cam.shape[-1]/(xin.shape[-1]/2)).clamp_min(0), store.images.shape[2:], "nearest")
            yield pos, x, lab, cams
    finally:
        for h in hs: h.remove()

def readings(model_dir, data_dir=None, level_from=None):
    "Per test cell of `data_dir` (the model's split): Grad-CAMO under every (layer, kind, ref, sigma)."
    import pandas as pd
    from gradcamo.cam import gradcamo_scores
    from gradcamo.train import load_split
    t = load_split(Path(data_dir or model_dir), split_from=model_dir); rows = []
    for pos, _, lab, cams in _maps(model_dir, data_dir, level_from):
        r = dict(crop_index=pos, Metadata_Plate=t.Metadata_Plate.to_numpy()[pos], Metadata_Well=t.Metadata_Well.to_numpy()[pos])
        rows.append(pd.DataFrame(r | {"|".join(map(str, k)): gradcamo_scores(c, lab)["gradcamo"] for k, c in cams.items()}))
    return pd.concat(rows, ignore_index=True)

FIGURE = (("_conv_stem", "hirescam", "raw", 0), ("_blocks.0", "gradcam", "bl", 1))   # 06's reading; the one the noise fill chooses

def figure(data, path):
    "One test cell of the confounded plate (median size), seed 0: what each model sees, and its CAM under 06's reading and under the noise fill's choice."
    import numpy as np, matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
    from gradcamo.crop import synthetic_names, CropStore
    from gradcamo.train import load_split
    from gradcamo.cam import gradcamo_scores
    wc = synthetic_names(data, "quick", 0, confound=1.0, confound_kinds=("background",))[1]
    t = load_split(wc); te = np.flatnonzero(t.Metadata_Split == "test")
    size = (CropStore(wc).read(te)[1] == 1).reshape(len(te), -1).sum(1)
    i = int(te[np.argsort(size)[len(te)//2]])                              # the median-sized test cell
    models = {"ceiling, noise fill": (wc.with_name(wc.name + "_masked_noise"), None), "floor, noise fill": (wc.with_name(wc.name + "_cellremoved_noise"), None),
              "clean model": (synthetic_names(data, "quick", 0)[1], wc), "confounded model": (wc, None)}
    fig, axs = plt.subplots(len(models), 1 + len(FIGURE), figsize=(3.2*(1 + len(FIGURE)), 3.0*len(models)))
    for row, (nm, (m, d)) in zip(axs, models.items()):
        _, x, lab, cams = next(_maps(m, d, level_from=None if nm.endswith("model") else wc, idx=[i]))
        z = int((lab[0] == 1).sum((1, 2)).argmax())                        # the cell's widest plane
        row[0].imshow(x[0, :, z].float().mean(0), cmap="gray"); row[0].set_title(f"{nm}: input (channel mean), z {z}", fontsize=8)
        for ax, k in zip(row[1:], FIGURE):
            c = cams[k][0, z]; ax.imshow(c, cmap="magma")
            ax.set_title(f"{k[1]} {k[0]} {'background-relative' if k[2] == 'bl' else 'relative to 0'}, sigma {k[3]}\n"
                         f"Grad-CAMO of this cell {gradcamo_scores(cams[k], lab)['gradcamo'][0]:.2f}", fontsize=8)
        for ax in row:
            ax.contour(lab[0, z] == 1, levels=[0.5], colors="cyan", linewidths=0.8); ax.set_xticks([]); ax.set_yticks([])
    fig.suptitle(f"{wc.name}, test cell {i} (median size), seed-0 models; cyan: the cell's mask", fontsize=9)
    fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)

def render(res: dict) -> str:
    import pandas as pd
    from _common import md_table
    d = pd.DataFrame(res["rows"]); key = ["layer", "kind", "ref", "sigma"]
    g = d.groupby(key, sort=False)
    tab = g.mean(numeric_only=True).drop(columns="seed")
    for f in FILLS: tab[f"range_{f}"] = tab[f"ceiling_{f}"] - tab[f"floor_{f}"]
    tab["worst_range"] = pd.concat([(d[f"ceiling_{f}"] - d[f"floor_{f}"]).groupby([d[k] for k in key], sort=False).min() for f in FILLS], axis=1).min(axis=1)
    tab["diff_lo_min"] = g.diff_lo.min()
    if "cue_diff_lo" in d: tab["cue_diff_lo_min"] = g.cue_diff_lo.min()
    pooled = pd.DataFrame(res["pooled"]).set_index(key)
    tab = tab.join(pooled).reset_index()
    cols = key + [f"{k}_{f}" for f in FILLS for k in ("ceiling", "floor")] + ["worst_range", "clean", "confounded", "diff_lo_min", "auroc_same", "auroc_own"] + (["clean_on_cue", "cueonly", "cue_diff_lo_min", "auroc_cue"] if "cueonly" in d else [])
    m = res["machine"]; acc = pd.DataFrame(res["acc"]).groupby("kind", sort=False).acc.agg(["mean", "min", "max", "count"]).reset_index()
    dflt = tab[(tab.layer == "_conv_stem") & (tab.kind == "hirescam") & (tab.ref == "raw") & (tab.sigma == "0")].iloc[0]
    best, top = tab.loc[tab.worst_range.idxmax()], tab.loc[tab.auroc_same.idxmax()]
    noisy = tab.loc[tab.range_noise.idxmax()]       # chosen as 06 chooses (widest mean range), on the fill that is no reference of any reading
    held = tab[tab.diff_lo_min > 0]
    say = lambda r: (f"{r.kind} at `{r.layer}`, {'relative to the background' if r.ref == 'bl' else 'relative to 0'}, sigma {r.sigma}: "
                     + "; ".join(f"{f} fill ceiling {r[f'ceiling_{f}']:.3f} / floor {r[f'floor_{f}']:.3f}" for f in FILLS)
                     + f"; worst range over fills and seeds {r.worst_range:.3f}; clean vs confounded model on the same images: "
                       f"{r.clean:.3f} vs {r.confounded:.3f}, well interval's low end (worst seed) {r.diff_lo_min:.3f}, pooled per-cell AUROC {r.auroc_same:.3f} ({r.auroc_own:.3f} each on its own plate)"
                     + (f"; clean vs cue-only model on the cue-only plate's images: {r.clean_on_cue:.3f} vs {r.cueonly:.3f}, interval's low end (worst seed) "
                        f"{r.cue_diff_lo_min:.3f}, AUROC {r.auroc_cue:.3f}" if "cueonly" in r else ""))
    return "\n".join([
        "# 06's calibration and experiment with the CAM read relative to the plate's background\n",
        f"Made {res['when']} by `python bench/background_cam.py` on {m['cpu']}, {m['cores']} cores, torch {m['torch']}; the quick run's plates "
        f"and split (`{res['data']}`), training seeds {res['seeds']}, {res['epochs']} epochs, test wells ({res['n_cells']} cells per model); nearest upsampling, "
        f"the predicted class as target. Took {res['minutes']:.0f} min. Means over seeds; `worst_range`: the smallest ceiling − floor over the three fills and "
        "the seeds; `diff_lo_min`: the low end of the well-bootstrap 95% interval of clean − confounded on the same images, worst seed; AUROC pooled over seeds.\n",
        f"- 06's CAM when this was measured (HiResCAM at the stem, relative to 0; its default until then): {say(dflt)}.",
        f"- The widest worst range: {say(best)}.",
        f"- The highest pooled AUROC: {say(top)}.",
        f"- Chosen as 06 chooses (the widest mean ceiling − floor) but on the noise fill alone, where no reading's reference equals the removed voxels: {say(noisy)}. "
        "06 now calibrates on the noise fill, with this reading among its candidates (sigma there in network-input voxels: 2 input voxels are 1 stem voxel), and it is the default (`CAM_*` in `gradcamo.data`).",
        f"- Readings whose clean − confounded interval excludes 0 in every seed: {len(held)} of {len(tab)}, "
        + ", ".join(f"{r.kind} at `{r.layer}` {r.ref} sigma {r.sigma}" for r in held.itertuples()) + ".",
        *([f"- Readings whose clean − cue-only interval (on the cue-only plate's images) excludes 0 in every seed: {int((tab.cue_diff_lo_min > 0).sum())} of {len(tab)}."]
          if "cue_diff_lo_min" in tab else []),
        "- Goal of #14: ceiling >= 0.7 and floor <= 0.1 in every seed; pooled AUROC >= 0.85.\n",
        "![one cell under the two readings](background_cam.png)\n",
        "`background_cam.png` (`--figure`): the median-sized test cell of the confounded plate under the seed-0 models (the reference "
        "models with the noise fill, the clean and the confounded model), 06's reading beside the noise fill's choice, in the cell's widest plane. "
        "One cell, to see what the maps look like, not a summary: the means are the tables.\n",
        "## Test balanced accuracy of the models (3 treatments: chance 0.333)\n", md_table(acc.round(3), index=False),
        "\n## Every reading (ref bl: relative to the background; raw: relative to 0, as 06)\n", md_table(tab[cols].round(3), index=False), ""])

def cue_plate(out):
    "06's confounded plate drawn again with no treatment effect in the cells (effect 0): a model trained on it can only read the cue; cropped and split as 06's."
    from dataclasses import replace
    from gradcamo.data import TEST_FRAC
    from gradcamo.crop import synthetic_names, crop_plate, CROP_BOX_UM, CROP_GRID
    from gradcamo.synth import synth_plate
    from gradcamo.train import make_split
    p, w, cfg = synthetic_names(out, "quick", 0, confound=1.0, confound_kinds=("background",))
    p, w = p.with_name(p.name + "_e0"), w.with_name(w.name + "_e0")
    table = synth_plate(p, replace(cfg, effect=0.0), n_jobs=2, progress=False)
    if not (w/"crops"/"crops.parquet").exists(): crop_plate(table, w, CROP_BOX_UM, CROP_GRID, masks_dir=Path(table).parent/"truth"/"labels", progress=False)
    make_split(w, 0, TEST_FRAC); return w

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data"); ap.add_argument("--out", default="bg.json"); ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--render"); ap.add_argument("--figure", help="a PNG: one cell under the seed-0 models of --data, 06's reading and the noise fill's choice")
    a = ap.parse_args()
    if a.render: print(render(json.loads(Path(a.render).read_text()))); return
    if a.figure: figure(Path(a.data), a.figure); return
    import numpy as np, pandas as pd
    from _common import machine
    from gradcamo.data import write_table
    from gradcamo.data import PRESETS, TEST_FRAC
    from gradcamo.crop import synthetic_crops, reference_crops
    from gradcamo.train import train, make_split, seed_work
    from gradcamo.cam import auroc, well_bootstrap, paired, share_higher
    t_all = time.perf_counter(); p, out = PRESETS["quick"], Path(a.data)
    work = synthetic_crops(out, "quick", 0)                                              # 06's clean and confounded plates (seed 0)
    wc = synthetic_crops(out, "quick", 0, confound=1.0, confound_kinds=("background",)); make_split(wc, 0, TEST_FRAC)
    cue = cue_plate(out); bases = dict(clean=work, confounded=wc, cueonly=cue)
    for f in FILLS:                                                                      # 06's names (its noise-fill models are reused)
        bases |= {f"{k}_{f}": d for k, d in reference_crops(wc, f, progress=False).items()}
    res = dict(when=time.strftime("%Y-%m-%d %H:%M"), machine=machine(), data=str(a.data), seeds=a.seeds, epochs=p["epochs"], rows=[], acc=[], pooled=[])
    cells = {}
    for s in a.seeds:
        for k, b in bases.items():
            d = seed_work(b, s)                                                          # 06's layout: seed 0 in the plate's own folder
            h = train(d, p["epochs"], 16, scale=p["scale"], seed=s, test_frac=TEST_FRAC, resume=True, progress=False)
            res["acc"].append(dict(kind=k, seed=s, acc=float(h.test_acc.iloc[-1])))
            for kk, data in ((k, None),) if k != "clean" else (("clean_own", None), ("clean", wc), ("clean_on_cue", cue)):   # the clean model also on the other plates' test wells
                f = d/f"bg_readings{'_on_' + data.name if data else ''}.parquet"         # kept: a rerun scores only what is new
                if not f.exists(): write_table(readings(d, data, level_from=None if k in ("clean", "confounded", "cueonly") else wc), f)   # a masked copy: the level of the plate it was cut from
                cells[kk, s] = pd.read_parquet(f)
            print(f"[{time.perf_counter() - t_all:6.0f} s] {k} seed {s}: test balanced accuracy {res['acc'][-1]['acc']:.3f}", flush=True)
    names = [c for c in cells["clean", a.seeds[0]].columns if "|" in c]
    for c in names:
        key = dict(zip(("layer", "kind", "ref", "sigma"), c.split("|")))
        for s in a.seeds:
            r = dict(key, seed=s, **{k: float(cells[k, s][c].mean()) for k in KINDS})
            cl, cf = (cells[k, s][["crop_index", "Metadata_Plate", "Metadata_Well", c]].rename(columns={c: "gradcamo"}) for k in ("clean", "confounded"))
            wb = well_bootstrap(cl, cf); r.update(diff=wb["diff"], diff_lo=wb["lo"], paired_share=share_higher(paired(cl, cf)))
            cl, cu = (cells[k, s][["crop_index", "Metadata_Plate", "Metadata_Well", c]].rename(columns={c: "gradcamo"}) for k in ("clean_on_cue", "cueonly"))
            wb = well_bootstrap(cl, cu); r.update(cue_diff=wb["diff"], cue_diff_lo=wb["lo"])
            res["rows"].append(r)
        pool = lambda k: np.concatenate([cells[k, s][c].dropna().to_numpy() for s in a.seeds])
        res["pooled"].append(dict(key, auroc_same=auroc(pool("clean"), pool("confounded")), auroc_own=auroc(pool("clean_own"), pool("confounded")),
                                   auroc_cue=auroc(pool("clean_on_cue"), pool("cueonly"))))
    res["n_cells"] = int(len(cells["confounded", a.seeds[0]])); res["minutes"] = (time.perf_counter() - t_all)/60
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    print(render(res))

if __name__ == "__main__": main()
