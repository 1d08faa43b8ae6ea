"""Benchmark: the CUDA path (#18 item 5), measured against the CPU on the same machine.

One prepared run, for a machine with a GPU (it also runs on a CPU-only machine, as a check of the script):
1. a synthetic plate (preset, default quick) made and cropped from its true masks (`synth_plate`, `crop_plate`);
2. `gradcamo.train.train` on it for the preset's epochs with `device` cuda (bf16 autocast): crops/s per epoch from
   its history, the test accuracy reached;
3. `gradcamo.cam.score_cells` (HiResCAM + Grad-CAMO at the project's layer) on the test cells: cells/s;
4. the training step at several batch sizes (`run_epoch` over the store, augmentation included; and the model alone on a
   batch already in memory) and scoring of every cell at several batch sizes, on the GPU and on this machine's CPU (all its cores): crops/s and cells/s side by side;
5. the same 2 epochs trained twice with one seed on the GPU: are the histories identical?
6. a projection of the `paper` plate (cells from its generator settings) from the measured rates.

Run: python bench/gpu_path.py --out gpu.json [--preset quick] [--device cuda]
     python bench/gpu_path.py --render gpu.json > bench/GPU.md
"""
import argparse, json, os, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

def render(res: dict) -> str:
    m, g = res["machine"], res
    L = [f"## {m['gpu'] or 'no GPU'}, preset `{res['preset']}`", "",
         f"Measured {res['when']} by `python bench/gpu_path.py` in {res['minutes']:.1f} min on {m['gpu'] or 'no GPU'} "
         f"({m['cpu']}, {m['cores']} cores; torch {m['torch']}, MONAI {m['monai']}). Plate: `{res['preset']}` synthetic, "
         f"{res['plate']['n_crops']} crops {tuple(res['plate']['crop'])}, cropped from the true masks "
         f"(made in {res['plate']['synth_s']:.0f} s with {res['plate']['jobs']} processes, cropped in {res['plate']['crop_s']:.0f} s"
         f"{' on a local Dask cluster of ' + str(res['plate']['crop_workers']) + ' workers' if res['plate'].get('crop_workers') else ''}).", ""]
    t = res["train"]
    L += [f"**Training** (`gradcamo.train.train`, {t['epochs']} epochs, batch {t['batch_size']}, {t['device']}, bf16 autocast: {t['amp']}): "
          f"{t['crops_per_s_median']:.0f} crops/s (median over epochs; first epoch {t['crops_per_s'][0]:.0f}), "
          f"test balanced accuracy {t['test_acc'][-1]:.3f} after the last epoch, {t['seconds']:.0f} s in all.", ""]
    s = res["score"]
    L += [f"**Scoring** (`gradcamo.cam.score_cells`, {s['method']} at `{s['layer']}`, {'test cells' if s.get('split', 'test') == 'test' else 'every cell'}): {s['n']} cells at "
          f"{s['cells_per_s']:.0f} cells/s on {s['device']} (model load included).", ""]
    if res["rates"]: L += ["| what | batch | GPU | CPU (all cores) | GPU / CPU |", "|---|---|---|---|---|"]
    for r in res["rates"]:
        ratio = f"{r['gpu']/r['cpu']:.1f}x" if r.get("cpu") else ""
        L.append(f"| {r['what']} | {r['batch']} | {r['gpu']:.0f} | {r['cpu']:.0f} | {ratio} |" if r.get("cpu") else
                 f"| {r['what']} | {r['batch']} | {r['gpu']:.0f} | | |")
    d = res.get("determinism")
    if d: L += ["", f"**Same seed, twice** ({d['epochs']} epochs on {d['device']}): histories identical: {d['identical']}; "
          f"largest difference in train loss {d['max_loss_diff']:.2e}, in test accuracy {d['max_acc_diff']:.3f}.", ""]
    p = res.get("projection")
    if p: L += [f"**Projection** to the `paper` plate ({p['n_cells']} cells expected from its generator settings, {p['epochs']} epochs, "
          f"{p['n_train']} training crops an epoch): training {p['train_h_gpu']:.2f} h on this GPU at batch {p['batch']} "
          f"vs {p['train_h_cpu']:.1f} h on this machine's CPU; scoring every cell {p['score_min_gpu']:.1f} min on the GPU "
          f"vs {p['score_min_cpu']:.1f} min on the CPU. Rates are measured; the plate's cells are the generator's expectation times the share of cells kept as crops on the measured plate ({p['kept_per_expected_cell']:.2f}).", ""]
    if res.get("note"): L += [f"*{res['note']}*", ""]
    if res.get("errors"): L += ["**Errors**:", ""] + [f"- {k}: `{v}`" for k, v in res["errors"].items()] + [""]
    return "\n".join(L)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="gpu.json"); ap.add_argument("--preset", default="quick"); ap.add_argument("--device", default="cuda")
    ap.add_argument("--epochs", type=int, default=None); ap.add_argument("--rate-batches", type=int, default=8)
    ap.add_argument("--workers", type=int, default=0, help="crop on a local Dask cluster of N processes (0: in this process)")
    ap.add_argument("--no-rates", action="store_true", help="skip the batch-size sweep (GPU vs CPU)"); ap.add_argument("--det-epochs", type=int, default=2, help="0: skip the same-seed check")
    ap.add_argument("--render", nargs="+", default=None, help="print the markdown of result files (one section each) and stop")
    a = ap.parse_args()
    if a.render: print("\n".join(["# The CUDA path, measured (#18 item 5)", ""] + [render(json.loads(Path(f).read_text())) for f in a.render])); return
    import numpy as np, pandas as pd, torch
    from gradcamo.data import PRESETS, CAM_LAYER, CAM_METHOD, TEST_FRAC
    from gradcamo.synth import make_config, synth_plate
    from gradcamo.crop import crop_plate, CropStore
    from gradcamo.train import train, make_model, run_epoch, _training_data
    from gradcamo.cam import score_cells
    from _common import machine
    t_all = time.perf_counter()
    res = dict(when=time.strftime("%Y-%m-%d %H:%M"), machine=machine(), preset=a.preset, errors={})
    dev = torch.device(a.device)
    root = Path(tempfile.mkdtemp(prefix="gpu_path_"))
    save = lambda: Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    def log(*s): print(f"[{time.perf_counter() - t_all:6.1f} s]", *s, flush=True)

    jobs = max(1, (os.cpu_count() or 2) - 2)
    t0 = time.perf_counter(); table = synth_plate(root/"plate", make_config(a.preset, seed=0), n_jobs=jobs, progress=False); t_syn = time.perf_counter() - t0
    t0 = time.perf_counter(); work = root/"work"; crop_plate(table, work, masks_dir=Path(table).parent/"truth"/"labels", workers=a.workers, progress=False); t_crop = time.perf_counter() - t0
    store = CropStore(work)
    res["plate"] = dict(n_crops=len(store), crop=list(store.images.shape[1:]), synth_s=t_syn, crop_s=t_crop, jobs=jobs, crop_workers=a.workers); save(); log("plate", res["plate"])

    epochs = a.epochs or PRESETS[a.preset]["epochs"]
    t0 = time.perf_counter(); h = train(work, epochs, 16, device=a.device, progress=False); secs = time.perf_counter() - t0
    res["train"] = dict(epochs=epochs, batch_size=16, device=str(dev), amp=dev.type == "cuda", seconds=secs, crops_per_s=h.crops_per_s.tolist(),
                        crops_per_s_median=float(h.crops_per_s.median()), test_acc=h.test_acc.tolist(), train_loss=h.train_loss.tolist())
    if dev.type == "cuda": res["train"]["peak_gib"] = torch.cuda.max_memory_allocated()/2**30
    save(); log("train", res["train"])

    t0 = time.perf_counter(); cells, summ = score_cells(work, device=a.device, split="test", write=False, progress=False); secs = time.perf_counter() - t0
    res["score"] = dict(n=len(cells), cells_per_s=len(cells)/secs, device=str(dev), layer=CAM_LAYER, method=CAM_METHOD, split="test",
                        gradcamo_mean=float(cells.gradcamo.mean()), accuracy=summ.get("accuracy")); save(); log("score", res["score"])

    classes, y, tr_idx, te_idx = _training_data(work, 0, TEST_FRAC)
    def train_rate(d, bs):
        torch.manual_seed(0); m = make_model(len(classes), store.images.shape[1]).to(d)
        opt = torch.optim.AdamW(m.parameters(), 1e-3); sch = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
        idx = np.resize(tr_idx, bs*(a.rate_batches + 1)); gen = torch.Generator().manual_seed(0)
        run_epoch(m, store, idx[:bs], y, opt, sch, bs, 1, d, gen, d.type == "cuda")                 # warm-up (cuDNN autotune, allocator)
        if d.type == "cuda": torch.cuda.synchronize()
        _, _, s = run_epoch(m, store, idx[bs:], y, opt, sch, bs, 1, d, gen, d.type == "cuda")
        if d.type == "cuda": torch.cuda.synchronize()
        return bs*a.rate_batches/s
    def model_rate(d, bs):                                            # forward + backward + AdamW on one batch already on the device
        import torch.nn.functional as F
        torch.manual_seed(0); m = make_model(len(classes), store.images.shape[1]).to(d).train(); opt = torch.optim.AdamW(m.parameters(), 1e-3)
        x = torch.from_numpy(store.read(np.resize(tr_idx, bs))[0]).float().to(d); t = torch.as_tensor(y[np.resize(tr_idx, bs)], device=d)
        def step():
            with torch.autocast(d.type, dtype=torch.bfloat16, enabled=d.type == "cuda"): loss = F.cross_entropy(m(x).float(), t)
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        step()
        if d.type == "cuda": torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(a.rate_batches): step()
        if d.type == "cuda": torch.cuda.synchronize()
        return bs*a.rate_batches/(time.perf_counter() - t0)
    def score_rate(d, bs):                                            # every cell of the plate, model load included
        t0 = time.perf_counter(); c, _ = score_cells(work, device=str(d), batch_size=bs, write=False, progress=False)
        return len(c)/(time.perf_counter() - t0)
    res["rates"] = []
    cpu = torch.device("cpu")
    for what, fn, sizes in () if a.no_rates else (("training step, crops/s", train_rate, (16, 64, 256)), ("model-only step (batch in memory), crops/s", model_rate, (16, 64, 256)), ("scoring (Grad-CAM + Grad-CAMO), cells/s", score_rate, (16, 64, 256))):
        for bs in sizes:
            r = dict(what=what, batch=bs)
            try: r["gpu"] = fn(dev, bs)
            except Exception as e: res["errors"][f"{what} gpu {bs}"] = repr(e)[:300]; r["gpu"] = float("nan")
            if bs in (16, 64):
                try: r["cpu"] = fn(cpu, bs)
                except Exception as e: res["errors"][f"{what} cpu {bs}"] = repr(e)[:300]
            res["rates"].append(r); save(); log(r)

    det = []
    for k in range(2 if a.det_epochs else 0):
        w2 = root/f"det{k}"; w2.mkdir(); (w2/"crops").symlink_to(work/"crops"); (w2/"split.csv").symlink_to(work/"split.csv")
        det.append(train(w2, a.det_epochs, 16, device=a.device, progress=False))
    if det:
        dl = (det[0].train_loss - det[1].train_loss).abs().max(); da = (det[0].test_acc - det[1].test_acc).abs().max()
        res["determinism"] = dict(epochs=a.det_epochs, device=str(dev), identical=bool(dl == 0 and da == 0), max_loss_diff=float(dl), max_acc_diff=float(da))
        save(); log("determinism", res["determinism"])

    expected = lambda c: c.n_plates*(1 + sum(len(v) for v in c.compounds.values()))*c.wells_per_treatment*c.sites_per_well*c.cells_per_field
    kept = len(store)/expected(make_config(a.preset, seed=0))        # crops kept per expected cell (border, size, density), measured here
    n_cells = int(expected(make_config("paper", seed=0))*kept); n_train = int(n_cells*len(tr_idx)/len(store)); ep = PRESETS["paper"]["epochs"]
    best = lambda what, key: max((r for r in res["rates"] if r["what"].startswith(what) and r.get(key) == r.get(key) and r.get(key)), key=lambda r: r[key])
    if res["rates"]:
        bg, bc = best("training", "gpu"), best("training", "cpu"); sg, sc = best("scoring", "gpu"), best("scoring", "cpu")
        res["projection"] = dict(n_cells=n_cells, n_train=n_train, epochs=ep, batch=bg["batch"], kept_per_expected_cell=kept,
                                 train_h_gpu=ep*n_train/bg["gpu"]/3600, train_h_cpu=ep*n_train/bc["cpu"]/3600,
                                 score_min_gpu=n_cells/sg["gpu"]/60, score_min_cpu=n_cells/sc["cpu"]/60)
    res["minutes"] = (time.perf_counter() - t_all)/60; save(); log("projection", res.get("projection"))
    print(render(res))

if __name__ == "__main__": main()
