"""Which field does a Dask crash name? `field_map` on a 2-worker local cluster, one field that kills its worker every
time, both cores kept busy by two spinning processes (a loaded machine, as under CI's parallel notebooks).

Dask blames every task a worker was running when it died; by default (`worker-saturation` 1.1) a one-thread worker is
sent two fields at once, so a field queued beside the crashing one can be named. `dask_client` sets 1.0. This counts
how often the crashing field is the one named, under Dask's default and under `dask_client`'s setting.

Run: python bench/dask_blame.py [REPS] > bench/DASK_BLAME.md
"""
import os, sys, subprocess, tempfile, shutil
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

def crash(key, mark):
    "A field's work; field f3 kills its worker process every time."
    if key == "f3": os._exit(1)
    return int(key[1:])**2

def main(reps: int = 16):
    import dask, distributed   # imported before any dask.config.set: one that imports it inside drops its defaults on exit
    from gradcamo.data import field_map, dask_client, InputError
    from _common import machine, md_table
    keys, rows = [f"f{i}" for i in range(6)], []
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    try:
        for label, sat in (("Dask's default (1.1)", 1.1), ("dask_client's (1.0)", 1.0)):
            named = []
            for _ in range(reps):
                with dask.config.set({"distributed.scheduler.allowed-failures": 1}), dask_client(workers=2) as client:
                    client.run_on_scheduler(lambda dask_scheduler, s=sat: setattr(dask_scheduler, "WORKER_SATURATION", s))
                    try: dict(field_map(crash, keys, None, client=client, progress=False, desc="crash")); named.append("none")
                    except InputError as e: named.append(str(e).split(" field ")[1].split(" ")[0])
            rows.append({"worker-saturation": label, "runs": reps, "named f3 (the cause)": named.count("f3"),
                         "named another field": reps - named.count("f3"), "names": " ".join(named)})
    finally:
        for p in spin: p.kill()
    import time, pandas as pd, distributed
    m = machine()
    print("\n".join(["# Which field does a Dask crash name? (stop 32's CI failure in 00_data)", "",
                     f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `python bench/dask_blame.py {reps}` on {m['cpu']} ({m['cores']} cores; "
                     f"distributed {distributed.__version__}).", "", __doc__.split("\n\nRun:")[0], "",
                     md_table(pd.DataFrame(rows), index=False), ""]))

if __name__ == "__main__": main(int(sys.argv[1]) if len(sys.argv) > 1 else 16)
