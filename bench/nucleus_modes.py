"""Stitched or 3D: the offline nucleus segmenter on a synthetic plate's own 3D nuclei (#15).

The quick plate of seed 0 (not the segmenter's training plate, seed 1000), its DNA channel segmented by `segment
--target nucleus` in both modes (`--mode stitch`: 2D per slice linked across z; `--mode 3d`: cellpose's do_3D), scored
against the plate's nucleus truth (`truth/nuclei`): 3D AP@0.5 and @0.75 per field (mean), splits, merges, and
`z_extent_ratio` (the median height of the mask covering each true nucleus over the nucleus's own; 1 is right).
It is why `SEG_MODE` makes 3d the default for nuclei (with the 3D sample of 02).

Run: python bench/nucleus_modes.py > bench/NUCLEUS_MODES.md
"""
import json, os, sys, shutil, tempfile, time, warnings
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

def main():
    import pandas as pd, tifffile
    import gradcamo.segment as S
    from gradcamo.data import PRESETS
    from gradcamo.synth import make_config, synth_plate
    from _common import machine, md_table
    warnings.simplefilter("ignore")
    root = Path(tempfile.mkdtemp(prefix="nucleus_modes_"))
    try:
        table = synth_plate(root/"plate", make_config("quick", seed=0), n_jobs=2, progress=False)
        truth, rows = root/"plate"/"truth"/"nuclei", []
        epochs = PRESETS["quick"]["seg_epochs_nucleus"]
        _, d0 = S.load_model("synthetic", "nucleus", None, "quick", 1000, epochs, progress=False)   # trained or cached before the clock runs
        own_xy = S._segmenter_voxel("synthetic", "quick", 1000, (1, 1, 1))[1]   # the segmenter's own xy voxel size
        for mode, size in [(m_, s_) for m_ in ("stitch", "3d") for s_ in ("measured", "as trained")]:
            t0 = time.perf_counter()
            tab = S.segment(table, root/f"w_{mode}_{size[:2]}", model="synthetic", target="nucleus", mode=mode, seg_epochs=epochs, progress=False,
                            diameter=None if size == "measured" else d0)   # measured: the default (object_diameter, resampled past SIZE_BAND); as trained: --diameter at the segmenter's own
            secs = time.perf_counter() - t0
            sc = []
            for r in tab.itertuples():
                t, m = tifffile.imread(truth/f"{r.Metadata_Key}.tif"), tifffile.imread(root/f"w_{mode}_{size[:2]}"/r.mask_path)
                sc.append(dict(**S.instance_scores(t, m), z_ratio=S.z_extent_ratio(t, m)))
            d = pd.DataFrame(sc)
            recs = [json.loads((root/f"w_{mode}_{size[:2]}"/"masks"/f"{k}.json").read_text()) for k in tab.Metadata_Key]
            rows.append(dict(mode=mode, size=size, resized=sum(abs(r_["segmented_at_um"][1] - own_xy) > 1e-9 for r_ in recs), fields=len(d), ap50=d.ap50.mean(), ap75=d.ap75.mean(), n_true=int(d.n_true.sum()), n_pred=int(d.n_pred.sum()),
                             splits=int(d.splits.sum()), merges=int(d.merges.sum()), z_ratio_median=d.z_ratio.median(), s_per_field=secs/len(d)))
    finally: shutil.rmtree(root, ignore_errors=True)
    m = machine()
    print("\n".join(["# Stitched or 3D: the nucleus segmenter on a synthetic plate's 3D nuclei (#15)", "",
                     f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `python bench/nucleus_modes.py` on {m['gpu'] or m['cpu']} ({m['cores']} cores; cellpose {m['cellpose']}). "
                     f"The quick plate of seed 0 (the segmenter trained {epochs} epochs on seed 1000's), DNA channel, against its nucleus truth; "
                     "Each mode with the nuclei measured and fields resampled past `SIZE_BAND` (measured, the default; `resized`: how many fields were) and at the segmenter's own size (as trained: `--diameter` at its own). "
                     "AP per field, averaged; `z_ratio_median`: median over fields of the median height of the mask covering each true nucleus over the nucleus's own.", "",
                     md_table(pd.DataFrame(rows), index=False), ""]))

if __name__ == "__main__": main()
