"""Stitched or 3D: the offline nucleus segmenter on a synthetic plate's own 3D nuclei (#15).

The quick plate of seed 0 (not the segmenter's training plate, seed 1000), its DNA channel segmented by `segment
--target nucleus` in both modes (`--mode stitch`: 2D per slice linked across z; `--mode 3d`: cellpose's do_3D), scored
against the plate's nucleus truth (`truth/nuclei`): 3D AP@0.5 and @0.75 per field (mean), splits, merges, and
`z_extent_ratio` (the median height of the mask covering each true nucleus over the nucleus's own; 1 is right).
It is why `SEG_MODE` makes 3d the default for nuclei (with the 3D sample of 02).

Run: python bench/nucleus_modes.py > bench/NUCLEUS_MODES.md
"""
import os, sys, shutil, tempfile, time, warnings
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
        S.train_segmenter("nucleus", "quick", 1000, epochs, progress=False)   # trained or cached before the clock runs
        for mode in ("stitch", "3d"):
            t0 = time.perf_counter()
            tab = S.segment(table, root/f"w_{mode}", model="synthetic", target="nucleus", mode=mode, seg_epochs=epochs, progress=False)
            secs = time.perf_counter() - t0
            sc = []
            for r in tab.itertuples():
                t, m = tifffile.imread(truth/f"{r.Metadata_Key}.tif"), tifffile.imread(root/f"w_{mode}"/r.mask_path)
                sc.append(dict(**S.instance_scores(t, m), z_ratio=S.z_extent_ratio(t, m)))
            d = pd.DataFrame(sc)
            rows.append(dict(mode=mode, fields=len(d), ap50=d.ap50.mean(), ap75=d.ap75.mean(), n_true=int(d.n_true.sum()), n_pred=int(d.n_pred.sum()),
                             splits=int(d.splits.sum()), merges=int(d.merges.sum()), z_ratio_median=d.z_ratio.median(), s_per_field=secs/len(d)))
    finally: shutil.rmtree(root, ignore_errors=True)
    m = machine()
    print("\n".join(["# Stitched or 3D: the nucleus segmenter on a synthetic plate's 3D nuclei (#15)", "",
                     f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `python bench/nucleus_modes.py` on {m['gpu'] or m['cpu']} ({m['cores']} cores; cellpose {m['cellpose']}). "
                     f"The quick plate of seed 0 (the segmenter trained {epochs} epochs on seed 1000's), DNA channel, against its nucleus truth; "
                     "AP per field, averaged; `z_ratio_median`: median over fields of the median height of the mask covering each true nucleus over the nucleus's own.", "",
                     md_table(pd.DataFrame(rows), index=False), ""]))

if __name__ == "__main__": main()
