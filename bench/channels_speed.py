"""Benchmark: channel-correlation streaming over RxRx1-layout sites (512x512x6, 8-bit): sites/s with 1 and 2 processes,
peak memory of the whole process tree at two dataset sizes (streaming: it must not grow), and the projected time for
the 125,510 sites of RxRx1.

Run: .venv/bin/python bench/channels_speed.py [--sites 64]
"""
import argparse, os, platform, shutil, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit
import psutil
from gradcamo.channels import synth_rxrx1, RxRx1, channel_correlations

ap = argparse.ArgumentParser(); ap.add_argument("--sites", type=int, default=64); ap.add_argument("--jobs", type=int, default=2)
a = ap.parse_args()
tmp = tempfile.mkdtemp()
wells = max(1, a.sites//8)
root = synth_rxrx1(f"{tmp}/rx", cell_types=("HEPG2", "HUVEC", "RPE", "U2OS"), wells=wells, sites=2, size=512, n_jobs=2, progress=False)

def peak_rss(fn):
    "Run fn(); the peak summed RSS (MiB) of this process and its children, sampled every 50 ms."
    me, peak, done = psutil.Process(), [0], threading.Event()
    def watch():
        while not done.is_set():
            try: rss = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
            except psutil.Error: continue
            peak[0] = max(peak[0], rss); time.sleep(0.05)
    t = threading.Thread(target=watch); t.start()
    try: out = fn()
    finally: done.set(); t.join()
    return out, peak[0]/2**20

res = {}
for nj in sorted({1, a.jobs}):
    ds = RxRx1(root)
    t0 = time.perf_counter()
    _, mem = peak_rss(lambda: channel_correlations(ds, f"{tmp}/out{nj}", n_jobs=nj, progress=False))
    res[nj] = (len(ds)/(time.perf_counter() - t0), mem)
half = RxRx1(root, max_sites=len(RxRx1(root))//4)
_, mem_small = peak_rss(lambda: channel_correlations(half, f"{tmp}/out_small", n_jobs=a.jobs, progress=False))
n = len(RxRx1(root))
best = res[max(res)][0]
print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {n} synthetic RxRx1-layout sites, 512x512x6")
for nj, (sps, mem) in res.items(): print(f"{nj} process(es): {sps:6.1f} sites/s, peak RSS {mem:6.0f} MiB")
print(f"peak RSS with {len(half)} sites: {mem_small:.0f} MiB vs {n} sites: {res[max(res)][1]:.0f} MiB (streaming: ~constant)")
print(f"projected full RxRx1 (125,510 sites) with {max(res)} processes: {125_510/best/3600:.2f} h")
emit("channels", sites=n, **{f"sites_per_s_{k}": v[0] for k, v in res.items()}, **{f"peak_mib_{k}": v[1] for k, v in res.items()},
     peak_mib_quarter=mem_small, parallel_speedup=best/res[1][0], projected_hours=125_510/best/3600)
shutil.rmtree(tmp)
