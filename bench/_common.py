"""Shared by the benchmark scripts: where results go, and what machine they ran on."""
import json, os, platform, subprocess

def emit(bench: str, **values):
    "Append one JSON line of results to $GRADCAMO_BENCH_JSON (set by bench/run_all.py); no-op otherwise."
    path = os.environ.get("GRADCAMO_BENCH_JSON")
    if path:
        with open(path, "a") as f: f.write(json.dumps({"bench": bench, **values}, default=float) + "\n")

def machine() -> dict:
    "CPU model, cores, memory, accelerator and library versions of this machine."
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"): cpu = line.split(":", 1)[1].strip(); break
    except OSError: pass
    mem = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"): mem = round(int(line.split()[1])/2**20, 1); break
    except OSError: pass
    import torch, monai, numpy
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    try: cp = __import__("importlib.metadata").metadata.version("cellpose")
    except Exception: cp = None                                   # not installed (a GPU machine carrying only what bench/gpu_path.py needs)
    return dict(cpu=cpu, cores=os.cpu_count(), memory_gib=mem, gpu=gpu, python=platform.python_version(),
                torch=torch.__version__, torch_threads=torch.get_num_threads(), cellpose=cp, monai=monai.__version__,
                numpy=numpy.__version__, os=platform.platform())

def md_table(df, index: bool = True, digits: int = 3) -> str:
    "A pandas table as markdown (without tabulate, which gradcamo does not install)."
    d = df.reset_index() if index else df
    fmt = lambda v: ("" if v != v else f"{v:.0f}" if abs(v) >= 100 else f"{v:.{digits}f}") if isinstance(v, float) else str(v)
    return "\n".join(["| " + " | ".join(map(str, d.columns)) + " |", "|" + "---|"*len(d.columns)]
                     + ["| " + " | ".join(fmt(v) for v in row) + " |" for row in d.itertuples(index=False)])
