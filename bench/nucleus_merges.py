"""Which touching nuclei the offline nucleus segmenter merges on the real 2D sample, and how its training images' touching
pairs compare (#15): where the merges come from, as evidence for the next change to the training data.

For each pair of touching nuclei in the real image's annotation (adjacent after a one-pixel dilation), whether the
default model (`real_scores`, factor 1) put both in one object (merged: each nucleus's largest share in the same
predicted object), and two measures of the pair: the **contact** (pixels of the one nucleus touching the other, over
the smaller one's diameter: 0 for a point contact, about 1 or more for nuclei pressed flat against each other) and the
**dip** (the lowest intensity on the line between the two centres, over the dimmer nucleus's median, both above the
background's median: below 1 a darker seam between them, about 1 none). The same two measures for the touching pairs
of `varied_nuclei` images drawn as the recipe draws them (`SEG_RECIPE["nucleus"]`; at most 20 pairs an image).

Run: .venv/bin/python bench/nucleus_merges.py [--cache DIR] [--images 150] [--out bench/NUCLEUS_MERGES.md]
"""
import argparse, os, sys, tempfile, shutil, time
from pathlib import Path
import numpy as np, pandas as pd
from scipy import ndimage as ndi
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine, md_table

def touching(lab):
    "Pairs (a, b), a < b, of labels adjacent after a one-pixel dilation."
    out = set()
    for a in np.unique(lab)[1:]:
        ring = ndi.binary_dilation(lab == a) & (lab != a) & (lab > 0)
        out |= {(min(a, b), max(a, b)) for b in np.unique(lab[ring])}
    return sorted(out)

def measures(img, lab, a, b):
    "(contact, dip, smaller diameter px) of the touching pair a, b."
    A, B = lab == a, lab == b
    d = 2*np.sqrt(min(A.sum(), B.sum())/np.pi)
    ca, cb = ndi.center_of_mass(A), ndi.center_of_mass(B); t = np.linspace(0, 1, 60)
    prof = ndi.map_coordinates(img, [ca[0] + t*(cb[0] - ca[0]), ca[1] + t*(cb[1] - ca[1])], order=1)
    bg = np.median(img[lab == 0]) if (lab == 0).any() else 0.0
    return float((A & ndi.binary_dilation(B)).sum()/d), float((prof.min() - bg)/(min(np.median(img[A]), np.median(img[B])) - bg)), float(d)

if __name__ == "__main__":
    ap = argparse.ArgumentParser(); ap.add_argument("--cache", default=None, help="model cache (default: a temporary one; the default model is trained)")
    ap.add_argument("--images", type=int, default=150); ap.add_argument("--seed", type=int, default=1000); ap.add_argument("--out", default=None)
    a = ap.parse_args()
    from gradcamo.segment import real_scores, varied_nuclei, SEG_RECIPE
    from gradcamo.synth import make_config
    scratch = tempfile.mkdtemp(prefix="nucleus-merges-")
    try:
        _, show = real_scores(Path(scratch)/"real", cache=a.cache or Path(scratch)/"cache", seg_seed=a.seed, factors=(1.0,))
    finally: shutil.rmtree(scratch, ignore_errors=True)
    img, lab, m, ap50 = show["nuclei_2d", "stitch"]; img, lab, m = img[1].astype(np.float32), lab[1], m[1]
    rows = []
    for x, y in touching(lab):
        pa, pb = np.bincount(m[lab == x]).argmax(), np.bincount(m[lab == y]).argmax()
        rows.append(dict(source="real: merged" if pa == pb and pa > 0 else "real: kept apart", **dict(zip(("contact", "dip", "diameter_px"), measures(img, lab, x, y)))))
    r = SEG_RECIPE["nucleus"]
    X, Y = varied_nuclei(a.images, seed=a.seed, px_um=make_config("quick").voxel_um[1]/r["scale"], **r.get("draw", {}))
    for x, y in zip(X, Y):
        for p, q in touching(y)[:20]: rows.append(dict(source="synthetic (varied_nuclei)", **dict(zip(("contact", "dip", "diameter_px"), measures(x[0], y, p, q)))))
    t = pd.DataFrame(rows)
    q = lambda s: t.groupby("source", sort=False)[s].quantile([0.1, 0.25, 0.5, 0.75, 0.9]).unstack().round(3).rename(columns=lambda c: f"q{int(c*100)}")
    tab = pd.concat({"pairs": t.groupby("source", sort=False).size()}, axis=1).join(q("contact").add_prefix("contact ")).join(q("dip").add_prefix("dip ")) \
            .join(q("diameter_px")[["q50"]].add_prefix("diameter px "))
    m_ = machine()
    text = "\n".join(["# Where the nucleus segmenter's merges come from (#15)", "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `python bench/nucleus_merges.py {' '.join(sys.argv[1:])}` on {m_['cpu']}, {m_['cores']} cores. "
        f"The default nucleus model (seed {a.seed}, the quick recipe {dict(r)}) on the real 2D sample: AP@0.5 {ap50:.3f}. Touching pairs of the "
        f"annotation, merged or kept apart by the model, against the touching pairs of {a.images} `varied_nuclei` images drawn as the recipe draws them "
        "(contact: touching pixels over the smaller nucleus's diameter; dip: the lowest intensity between the centres over the dimmer nucleus's median, "
        "background subtracted; diameters in each image's own pixels).", "",
        md_table(tab.reset_index(), index=False), ""])
    print(text)
    if a.out: Path(a.out).write_text(text)
