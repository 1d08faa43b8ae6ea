"""Run every benchmark, print one table, and write it to bench/RESULTS.md with the machine it ran on.

Each figure is a ratio against its reference measured in the same run (machines are noisy); absolute numbers are
context. `--reproduce` also times `gradcamo reproduce --preset quick` from scratch (tens of minutes on 2 cores).

Run: .venv/bin/pip install -e ".[bench]" (Captum, the Grad-CAM peer), then
     .venv/bin/python bench/run_all.py [--only synth,segment,...] [--reproduce] [--device cuda] [--out bench/RESULTS.md]
"""
import argparse, datetime, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import machine
import reproduce_profile

BENCHES = {  # name: (script, extra args)
    "synth": ("synth_speed.py", []), "segment": ("segment_overhead.py", []), "crop": ("crop_speed.py", []),
    "train": ("train_overhead.py", []), "gradcam": ("gradcam_speed.py", []), "channels": ("channels_speed.py", []),
    "crop_store": ("crop_store.py", [])}

def rows(r: dict) -> list[tuple]:
    "(stage, measure, value, reference, ratio, goal, met) rows from the collected results."
    out = []
    for s in r.get("synth", []):
        out.append(("generator", f"{s['preset']} field, s/field ({s['cells_per_field']:.0f} cells)", f"{s['s_per_field']:.2f}", "", "", "", ""))
    if "segment" in r:
        s = r["segment"][0]
        out.append(("segmentation", "gradcamo segment vs bare CellposeModel.eval, s/field", f"{s['project_s_per_field']:.2f}",
                    f"{s['bare_s_per_field']:.2f}", f"{s['overhead']*100:+.1f}% overhead", "<= +10%", s["overhead"] <= 0.10))
    if "crop" in r:
        s = r["crop"][0]
        out.append(("cropping", "crop_plate, crops/s (quick fields, store written)", f"{s['crops_per_s']:.1f}", "", "", "", ""))
    if "train" in r:
        s = r["train"][0]
        out.append(("cropping", "store read vs training step, crops/s", f"{s['read_crops_per_s']:.0f}", f"{s['model_crops_per_s']:.1f}",
                    f"{s['read_vs_step']:.0f}x", "store not the bottleneck (> 1x)", s["read_vs_step"] > 1))
        out.append(("training", "gradcamo step vs model-only step, crops/s", f"{s['full_crops_per_s']:.1f}", f"{s['model_crops_per_s']:.1f}",
                    f"{s['overhead']*100:+.1f}% overhead", "<= +10%", s["overhead"] <= 0.10))
    if "gradcam" in r:
        s = r["gradcam"][0]
        g = s["gradcamo_cells_per_s"]
        out.append(("Grad-CAM + Grad-CAMO", f"vs pytorch-grad-cam GradCAM, cells/s ({s['device']})", f"{g:.1f}", f"{s['pytorch-grad-cam_cells_per_s']:.1f}",
                    f"{s['vs_pgc']:.2f}x", ">= 2x", s["vs_pgc"] >= 2))
        out.append(("Grad-CAM + Grad-CAMO", f"vs Captum LayerGradCam, cells/s ({s['device']})", f"{g:.1f}", f"{s['captum LayerGradCam_cells_per_s']:.1f}",
                    f"{s['vs_captum']:.2f}x", "", ""))
        out.append(("Grad-CAM + Grad-CAMO", f"vs bare forward+backward, cells/s ({s['device']})", f"{g:.1f}", f"{s['forward+backward_cells_per_s']:.1f}",
                    f"{s['vs_fwdbwd']:.2f}x", ">= 0.8x", s["vs_fwdbwd"] >= 0.8))
    if "channels" in r:
        s = r["channels"][0]
        out.append(("channel correlation", f"RxRx1-layout 512x512x6 sites/s, 2 vs 1 processes ({s['sites']} sites)", f"{s['sites_per_s_2']:.1f}",
                    f"{s['sites_per_s_1']:.1f}", f"{s['parallel_speedup']:.2f}x", "", ""))
        out.append(("channel correlation", "peak memory, MiB: all sites vs a quarter (streaming)", f"{s['peak_mib_2']:.0f}", f"{s['peak_mib_quarter']:.0f}",
                    f"{s['peak_mib_2']/s['peak_mib_quarter']:.2f}x", "~1x (constant)", s['peak_mib_2']/s['peak_mib_quarter'] < 1.2))
        out.append(("channel correlation", "projected hours for all 125,510 RxRx1 sites", f"{s['projected_hours']:.2f}", "", "", "", ""))
    if "crop_store" in r:
        s = r["crop_store"][0]; base = s["rows"][0]["bytes"]
        for row in s["rows"]:
            lossy = (f" (error max {row['err_max']:.4f}, rms {row['err_rms_over_noise']:.2f}x the crops' noise; a trained model's Grad-CAMO on "
                     f"{row['n_scored']} test cells moves by at most {row['gradcamo_max_abs_diff']:.4f}, same prediction {row['pred_agree']:.1%})") if "err_max" in row else ""
            out.append(("crop store (#18)", f"{row['store']}{lossy}: MB on disk; read crops/s vs a training step's", f"{row['bytes']/1e6:.1f} MB, {row['crops_per_s']:.0f}/s",
                        f"{base/1e6:.1f} MB, {s['step_crops_per_s']:.1f}/s", f"{base/row['bytes']:.2f}x smaller, {row['crops_per_s']/s['step_crops_per_s']:.0f}x the step",
                        ">= 3x smaller, >= 20x the step", base/row["bytes"] >= 3 and row["crops_per_s"] >= 20*s["step_crops_per_s"]))
    if "reproduce" in r:
        s = r["reproduce"][0]
        out.append(("reproduce", "gradcamo reproduce --preset quick, minutes from scratch", f"{s['minutes']:.1f}", "", "", "<= 30 min (#14)", s["minutes"] <= 30))
        for nb, sec in s.get("per_notebook", {}).items(): out.append(("reproduce", f"  {nb}, minutes", f"{sec/60:.1f}", "", "", "", ""))
    return out

def table(rs) -> str:
    head = "| stage | measure | value | reference | ratio | goal | met |\n|---|---|---|---|---|---|---|\n"
    fmt = lambda m: "yes" if m is True else ("**no**" if m is False else "")
    return head + "\n".join(f"| {a} | {b} | {c} | {d} | {e} | {f} | {fmt(g)} |" for a, b, c, d, e, f, g in rs)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None, help="comma-separated: " + ",".join(BENCHES) + ",reproduce")
    ap.add_argument("--reproduce", action="store_true", help="also time `gradcamo reproduce --preset quick` from scratch")
    ap.add_argument("--device", default=None, help="cuda: run the Grad-CAM benchmark on the GPU")
    ap.add_argument("--out", default=str(HERE/"RESULTS.md"))
    a = ap.parse_args()
    names = a.only.split(",") if a.only else list(BENCHES) + (["reproduce"] if a.reproduce else [])
    scratch = Path(tempfile.mkdtemp(prefix="gradcamo-bench-"))   # every benchmark's data (TMPDIR of the scripts), removed at the end
    try: run(a, names, scratch)
    finally: shutil.rmtree(scratch, ignore_errors=True)

def run(a, names, scratch: Path):
    res_file = scratch/"results.jsonl"
    env = {**os.environ, "GRADCAMO_BENCH_JSON": str(res_file), "TMPDIR": str(scratch)}
    logs, t_start = {}, time.time()
    for nm in names:
        if nm == "reproduce": continue
        script, extra = BENCHES[nm]
        if nm == "gradcam" and a.device: extra = extra + ["--device", a.device]
        print(f"== {nm}: {script} {' '.join(extra)}", flush=True)
        p = subprocess.run([sys.executable, str(HERE/script), *extra], env=env, capture_output=True, text=True)
        logs[nm] = p.stdout + (p.stderr[-3000:] if p.returncode else "")
        print(p.stdout, flush=True)
        if p.returncode: print(f"{nm} FAILED (exit {p.returncode}):\n{p.stderr[-3000:]}", flush=True)
    if "reproduce" in names:
        d = scratch/"reproduce"
        print(f"== reproduce --preset quick in {d} (from scratch)", flush=True)
        t0 = time.time()
        p = subprocess.run([str(Path(sys.executable).with_name("gradcamo")), "reproduce", "--preset", "quick", "--run-dir", str(d/"run"),
                            "--fig-dir", str(d/"fig"), "--quiet"], capture_output=True, text=True, env={**env, "GRADCAMO_CACHE": str(d/"cache")})
        per = {f.name.split(".")[0]: json.loads(f.read_text())["seconds"] for f in sorted((d/"run").glob("*.done.json"))}
        with open(res_file, "a") as f: f.write(json.dumps({"bench": "reproduce", "minutes": (time.time() - t0)/60, "per_notebook": per, "exit": p.returncode}) + "\n")
        logs["reproduce"] = p.stdout[-2000:] + p.stderr[-2000:] + "\n" + reproduce_profile.profile([d/"run"])[0]
    r = {}
    for line in res_file.read_text().splitlines() if res_file.exists() else []:
        d = json.loads(line); r.setdefault(d.pop("bench"), []).append(d)
    m = machine()
    tab = table(rows(r))
    print(tab)
    mline = (f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB" + (f", GPU {m['gpu']}" if m["gpu"] else ", no GPU")
             + f"; Python {m['python']}, torch {m['torch']} ({m['torch_threads']} threads), cellpose {m['cellpose']}, MONAI {m['monai']}")
    md = (f"# Benchmarks\n\nMeasured {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} by `python bench/run_all.py"
          + (f" --only {a.only}" if a.only else "") + (" --reproduce" if a.reproduce else "") + (f" --device {a.device}" if a.device else "")
          + f"` in {(time.time() - t_start)/60:.1f} min.\n\n**Machine:** {mline}.\n\n" + tab + "\n\n## Raw output\n\n"
          + "\n".join(f"### {k}\n```\n{v.strip()}\n```\n" for k, v in logs.items()) + "\n## Results (JSON)\n```\n" + json.dumps(r, indent=1, default=float) + "\n```\n")
    Path(a.out).write_text(md)
    print(f"written {a.out}")

if __name__ == "__main__": main()
