"""How much the offline cell segmenter's quality depends on its training seed, at two training lengths (#15).

The offline segmenter (`gradcamo.segment.train_segmenter`, target "cell") is trained on its own synthetic plate
(`seg_preset`, the seed below, which is both the plate's and the training's seed) for each number of epochs, and
segments the same quick plate (seed 0, the one `02_segment` scores) through `segment`; AP@0.5 against the truth is
the mean over fields of cellpose's `average_precision` (`plate_scores`), as `02` reports it. Writes
bench/SEGMENTER.md with the machine and the seconds each training took.

Run: .venv/bin/python bench/segmenter_seeds.py [--epochs 30 60] [--seeds 1000 1001 1002] [--out bench/SEGMENTER.md]
"""
import argparse, os, shutil, tempfile, time
from pathlib import Path
import pandas as pd
import sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine, md_table
from gradcamo.data import PRESETS
from gradcamo.synth import make_config, synth_plate
from gradcamo.segment import train_segmenter, segment, plate_scores

ap = argparse.ArgumentParser(); ap.add_argument("--epochs", type=int, nargs="+", default=[30, 60])
ap.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001, 1002]); ap.add_argument("--preset", default="quick")
ap.add_argument("--out", default=str(Path(__file__).with_name("SEGMENTER.md"))); a = ap.parse_args()
t_all = time.time(); d = Path(tempfile.mkdtemp(prefix="segmenter-seeds-"))
try:
    table = synth_plate(d/"plate", make_config(a.preset, seed=0), n_jobs=2, progress=False)
    truth = Path(table).parent/"truth"/"labels"
    rows = []
    for ep in a.epochs:
        for s in a.seeds:
            cache = d/f"cache_{ep}_{s}"; t0 = time.time()
            train_segmenter("cell", PRESETS[a.preset]["seg_preset"], s, ep, cache, progress=False); t_train = time.time() - t0
            work = d/f"work_{ep}_{s}"
            tab = segment(table, work, cache=cache, seg_preset=PRESETS[a.preset]["seg_preset"], seg_seed=s, seg_epochs=ep, progress=False)
            sc = plate_scores(tab, work, truth)
            rows.append(dict(epochs=ep, seed=s, ap50=sc.ap50.mean(), ap75=sc.ap75.mean(), n_pred=int(sc.n_pred.sum()), n_true=int(sc.n_true.sum()),
                             merges=int(sc.merges.sum()), splits=int(sc.splits.sum()), train_s=t_train))
            print(rows[-1], flush=True)
            shutil.rmtree(work); shutil.rmtree(cache)
finally: shutil.rmtree(d, ignore_errors=True)
r = pd.DataFrame(rows); m = machine()
agg = r.groupby("epochs").agg(mean_ap50=("ap50", "mean"), min_ap50=("ap50", "min"), max_ap50=("ap50", "max"), mean_train_s=("train_s", "mean"))
L = ["# The offline cell segmenter's quality over training seeds (#15)", "",
     f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `python bench/segmenter_seeds.py` in {(time.time() - t_all)/60:.1f} min on {m['cpu']}, "
     f"{m['cores']} cores (torch {m['torch']}, cellpose {m['cellpose']}). Each row: the segmenter trained on its own synthetic `{PRESETS[a.preset]['seg_preset']}` "
     f"plate with that seed for that many epochs, then `segment` on the `{a.preset}` plate of seed 0 (the plate `02_segment` scores); AP@0.5 is the mean over its "
     f"{len(tab)} fields, as `02` reports it ({r.n_true.iloc[0]} true cells).", "",
     md_table(r, index=False), "", "Per training length:", "", md_table(agg), ""]
Path(a.out).write_text("\n".join(L)); print("\n".join(L))
