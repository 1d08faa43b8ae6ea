"""Does the CPU's instruction set change what a seed trains? (#14: the quick run passes `06` on an Intel Xeon and stops
there on an AMD EPYC, same code and seeds.)

The 3D EfficientNet-B0 of `04` (MONAI `EfficientNetBN`, 5 channels, 3 classes) trains 10 AdamW steps on one fixed batch
16x5x32x32x32 from one seed, once per setting of the two switches that pick torch's CPU kernels: `ATEN_CPU_CAPABILITY`
(torch's own vectorised kernels: default = the best the CPU has) and `ONEDNN_MAX_CPU_ISA` (oneDNN's convolutions), each
in a fresh process. Same weights bit for bit = same hash. Each setting runs twice, so run-to-run determinism on one
machine is read in the same table.

Run: python bench/cpu_isa.py --out cpu_isa.json;  python bench/cpu_isa.py --render cpu_isa.json > bench/CPU_ISA.md
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SETTINGS = [{}, {"ATEN_CPU_CAPABILITY": "avx2"}, {"ONEDNN_MAX_CPU_ISA": "AVX2"}, {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}]
CHILD = """
import hashlib, json, torch
from monai.networks.nets import EfficientNetBN
torch.manual_seed(0); torch.set_num_threads(2)
m = EfficientNetBN("efficientnet-b0", spatial_dims=3, in_channels=5, num_classes=3, pretrained=False)
opt = torch.optim.AdamW(m.parameters(), 1e-3); g = torch.Generator().manual_seed(1)
x = torch.rand(16, 5, 32, 32, 32, generator=g); y = torch.randint(0, 3, (16,), generator=g)
losses = []
for _ in range(10):
    l = torch.nn.functional.cross_entropy(m(x), y); opt.zero_grad(); l.backward(); opt.step(); losses.append(l.item())
print(json.dumps(dict(capability=torch.backends.cpu.get_cpu_capability(), first_loss=losses[0], last_loss=losses[-1],
                      weights_sha1=hashlib.sha1(b"".join(p.detach().numpy().tobytes() for p in m.parameters())).hexdigest()[:12])))
"""

def render(res: dict) -> str:
    import pandas as pd
    from _common import md_table
    m = res["machine"]; r = pd.DataFrame(res["rows"])
    same = r.groupby("setting").weights_sha1.nunique().eq(1).all()
    return "\n".join(["# The CPU's instruction set and what a seed trains (#14)", "",
        f"Measured {res['when']} by `python bench/cpu_isa.py` on {m['cpu']} ({m['cores']} cores; torch {m['torch']}, MONAI {m['monai']}): "
        "the 3D EfficientNet-B0, one seed, 10 AdamW steps on one fixed batch, each row a fresh process.", "",
        md_table(r, index=False, digits=9), "",
        f"Run to run on this machine, each setting gives {'the same' if same else 'NOT the same'} weights. "
        f"Across settings: {r.weights_sha1.nunique()} different weight hashes from {r.setting.nunique()} settings. "
        "A processor that dispatches other kernels (another instruction set, or oneDNN's choices for its caches) trains "
        "other models from the same seed; pinning both switches to AVX2 is one way to make x86 machines take the same "
        "kernels, not checked here on a second processor kind (one machine per session).", ""])

def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--out", default="cpu_isa.json"); ap.add_argument("--render", default=None)
    a = ap.parse_args()
    if a.render: print(render(json.loads(Path(a.render).read_text()))); return
    from _common import machine
    rows = []
    for env in SETTINGS:
        for rep in (1, 2):
            e = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")} | env
            out = subprocess.run([sys.executable, "-c", CHILD], env=e, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
            rows.append(dict(setting=" ".join(f"{k}={v}" for k, v in env.items()) or "default", run=rep, **json.loads(out)))
            print(rows[-1], flush=True)
    res = dict(when=time.strftime("%Y-%m-%d %H:%M"), machine=machine(), rows=rows)
    Path(a.out).write_text(json.dumps(res, indent=1)); print(render(res))

if __name__ == "__main__": main()
