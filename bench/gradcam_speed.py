"""Benchmark: Grad-CAM + Grad-CAMO throughput, cells/s, on one model, layer and batch.

- gradcamo: GradCAM3D (torch, autograd.grad to the layer) + trilinear upsampling + Grad-CAMO shares
- pytorch-grad-cam: GradCAM(model, [layer]) on the same batch and targets (its upsampling and normalisation included),
  + the same Grad-CAMO shares on its output
- Captum: LayerGradCam + LayerAttribution.interpolate (trilinear) + ReLU + the same shares
- MONAI: monai.visualize.GradCAM(model, layer).compute_map, one call per cell (a batched call mixes the batch's
  classes, see 06_gradcamo), trilinear upsampling + the same shares
- limits: a bare forward + backward of the model on the batch (loss = sum of target logits), and a bare no-grad forward
Goals: >= 2x pytorch-grad-cam, >= 0.8x the bare forward+backward, >= 0.5x the no-grad forward.

Run: .venv/bin/python bench/gradcam_speed.py [--batch 16] [--layer _conv_stem] [--scale 1] [--repeats 3]   (defaults: the project's)
"""
import argparse, os, platform, time
import numpy as np, torch
import sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit
from gradcamo.train import make_model, prep
from gradcamo.cam import GradCAM3D, upsample, gradcamo_scores
from gradcamo.data import CAM_LAYER, CAM_METHOD, PRESETS
from gradcamo.crop import CROP_GRID

ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, default=16); ap.add_argument("--layer", default=CAM_LAYER)
ap.add_argument("--scale", type=int, default=PRESETS["quick"]["scale"]); ap.add_argument("--repeats", type=int, default=3)
ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
a = ap.parse_args()
dev = torch.device(a.device)
torch.manual_seed(0)
model = make_model(4).to(dev).eval()
crop = torch.rand(a.batch, 5, *CROP_GRID, device=dev)                 # the crop grid of 03_crop
lab = torch.zeros(a.batch, *CROP_GRID, dtype=torch.uint8, device=dev); lab[:, 11:21, 10:22, 10:22] = 1; lab[:, :, :, :5] = 2
x = prep(crop, a.scale)
tgt = model(x).argmax(1).detach()
mod = model.get_submodule(a.layer)

gc = GradCAM3D(model, a.layer, kind=CAM_METHOD, level=torch.full((5,), 0.5))   # the default reading (CAM_REFERENCE, CAM_SMOOTH); 0.5: uniform crops' level
def ours():
    cam, _ = gc(x, tgt); return gradcamo_scores(upsample(cam, crop.shape[2:]), lab)
def pgc():
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    with GradCAM(model=model, target_layers=[mod]) as c:
        cams = c(input_tensor=x, targets=[ClassifierOutputTarget(int(t)) for t in tgt])
    cams = torch.from_numpy(cams).to(dev)                   # at network-input size; to the crop for the shares
    return gradcamo_scores(torch.relu(upsample(cams, crop.shape[2:])), lab)
def captum():
    from captum.attr import LayerGradCam, LayerAttribution
    att = LayerGradCam(model, mod).attribute(x, target=tgt, relu_attributions=True)
    return gradcamo_scores(LayerAttribution.interpolate(att.detach(), tuple(crop.shape[2:]), "trilinear")[:, 0].clamp_min(0), lab)
def monai():
    from monai.visualize import GradCAM as MonaiGradCAM
    cam = MonaiGradCAM(model, target_layers=a.layer)
    maps = torch.cat([cam.compute_map(x[i:i + 1], class_idx=int(tgt[i]))[:, 0] for i in range(len(x))]).detach()
    return gradcamo_scores(upsample(maps, crop.shape[2:]), lab)
def forward():
    with torch.no_grad(): model(x)
def fwdbwd():
    model.zero_grad(set_to_none=True); out = model(x); out.gather(1, tgt[:, None]).sum().backward()

def timeit(f):
    f()
    if dev.type == "cuda": torch.cuda.synchronize()
    ts = []
    for _ in range(a.repeats):
        t0 = time.perf_counter(); f()
        if dev.type == "cuda": torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return a.batch/np.median(ts)
r = {nm: timeit(f) for nm, f in (("gradcamo", ours), ("pytorch-grad-cam", pgc), ("captum LayerGradCam", captum), ("MONAI GradCAM", monai),
                                ("forward+backward", fwdbwd), ("forward (no grad)", forward))}
print(f"machine: {platform.machine()}, {os.cpu_count()} cores, device {dev}; batch {a.batch}, crop (5, {CROP_GRID}), gradcamo = {CAM_METHOD}, "
      f"network input {tuple(x.shape[1:])}, layer {a.layer}, median of {a.repeats}")
for k, v in r.items(): print(f"{k:22s}: {v:8.1f} cells/s")
print(f"gradcamo / pytorch-grad-cam : {r['gradcamo']/r['pytorch-grad-cam']:.2f}x  (goal >= 2x)")
print(f"gradcamo / captum           : {r['gradcamo']/r['captum LayerGradCam']:.2f}x")
print(f"gradcamo / MONAI GradCAM     : {r['gradcamo']/r['MONAI GradCAM']:.2f}x")
print(f"gradcamo / forward+backward : {r['gradcamo']/r['forward+backward']:.2f}x  (goal >= 0.8x)")
print(f"gradcamo / no-grad forward  : {r['gradcamo']/r['forward (no grad)']:.2f}x  (goal >= 0.5x)")
emit("gradcam", device=str(dev), batch=a.batch, layer=a.layer, **{f"{k}_cells_per_s": v for k, v in r.items()},
     vs_pgc=r["gradcamo"]/r["pytorch-grad-cam"], vs_captum=r["gradcamo"]/r["captum LayerGradCam"], vs_monai=r["gradcamo"]/r["MONAI GradCAM"],
     vs_fwdbwd=r["gradcamo"]/r["forward+backward"], vs_forward=r["gradcamo"]/r["forward (no grad)"])
