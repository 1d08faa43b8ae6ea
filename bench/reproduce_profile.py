"""Where `gradcamo reproduce` spends its time: per section notebook, and its slowest cells.

Reads the executed notebooks a reproduce run left in its run folder (papermill records each cell's duration) and the
`<notebook>.done.json` files (wall time per notebook, including kernel start). Writes a markdown table.

Run: .venv/bin/python bench/reproduce_profile.py RUN_DIR [RUN_DIR ...] [--top 3] [--out bench/REPRODUCE.md]
(e.g. after `gradcamo reproduce --preset quick --run-dir /tmp/prof/run --fig-dir /tmp/prof/fig`)
"""
import argparse, datetime, json, os, sys
from pathlib import Path
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine

def cells(nb_path: Path) -> list[tuple[float, str]]:
    "(seconds, first line that is not an import or a comment) of every executed code cell."
    nb = json.loads(nb_path.read_text())
    out = []
    for c in nb["cells"]:
        d = c.get("metadata", {}).get("papermill", {}).get("duration")
        if c["cell_type"] == "code" and d is not None:
            lines = [l for l in "".join(c["source"]).splitlines() if l.strip()]
            first = next((l for l in lines if not l.startswith(("#", "import ", "from "))), lines[0] if lines else "")
            out.append((float(d), first.strip()[:90]))
    return out

def profile(run_dirs, top: int = 3) -> tuple[str, float]:
    rows, total = [], 0.0
    for rd in map(Path, run_dirs):
        for nb in sorted(rd.glob("[0-9][0-9]_*.ipynb")):
            done = rd/f"{nb.stem}.done.json"
            cs = sorted(cells(nb), reverse=True)
            slow = "; ".join(f"{d:.0f} s `{s.replace('|', '/')}`" for d, s in cs[:top])
            if not done.exists():                                # stopped (an error) or cut: its cells so far, not in the total
                if cs: rows.append(f"| {nb.stem} (stopped) | {sum(d for d, _ in cs)/60:.1f} in cells | | {slow} |")
                continue
            secs = json.loads(done.read_text())["seconds"]; total += secs
            rows.append(f"| {nb.stem} | {secs/60:.1f} | {100*sum(d for d, _ in cs)/secs:.0f}% | {slow} |")
    head = "| notebook | minutes | in cells | slowest cells |\n|---|---|---|---|\n"
    return head + "\n".join(rows) + f"\n| **all** | **{total/60:.1f}** | | |\n", total

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+"); ap.add_argument("--top", type=int, default=3); ap.add_argument("--out", default=None)
    a = ap.parse_args()
    tab, total = profile(a.run_dirs, a.top)
    m = machine()
    speed = [json.loads((Path(r)/"machine.json").read_text()) for r in a.run_dirs if (Path(r)/"machine.json").exists()]
    md = (f"# Where `gradcamo reproduce` spends its time\n\nProfiled {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} by "
          f"`python bench/reproduce_profile.py` from the run folder(s) {', '.join(f'`{r}`' for r in a.run_dirs)}; "
          f"{m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads)."
          + "".join(f" The machine's speed, measured by the run itself when it started (`gradcamo.reproduce.machine_speed`): "
                    f"{s['train_steps_per_s']:.2f} training steps/s of the 3D EfficientNet-B0 on a batch {'×'.join(map(str, s['batch']))}; "
                    "another machine takes about these minutes × (this speed / its speed)." for s in speed[:1]) + "\n\n" + tab)
    print(md)
    if a.out: Path(a.out).write_text(md)
