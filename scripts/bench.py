#!/usr/bin/env python3
"""Push and pull benchmark: packctl beside the oras Python SDK, on one local docker-registry.

For each size it writes a pack whose data is FILES random files, starts a fresh
`docker-registry` on a free loopback port for every measured push, and reports wall time,
throughput and peak memory (max RSS of the process) of:

  packctl push (cold: the digest cache is emptied first), packctl push again (unchanged),
  packctl pull, oras SDK push, oras SDK pull.

usage: scripts/bench.py [--sizes 200,400] [--files 4] [--runs 3] [--packctl PATH] [--json OUT]

Needs: docker-registry (Debian), the oras Python SDK (PyPI `oras`), and a release build of
packctl (`cargo build --release`).
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ORAS_PUSH = r"""
import os, sys, oras.client
ref, folder = sys.argv[1], sys.argv[2]
os.chdir(folder)
files = sorted(os.path.join(d, f)[2:] for d, _, fs in os.walk(".") for f in fs)
oras.client.OrasClient(insecure=True).push(target=ref, files=files, disable_path_validation=True)
"""

ORAS_PULL = r"""
import sys, oras.client
oras.client.OrasClient(insecure=True).pull(target=sys.argv[1], outdir=sys.argv[2])
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, workdir):
        self.dir = tempfile.mkdtemp(prefix="registry-", dir=workdir)
        self.host = f"127.0.0.1:{free_port()}"
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write(
                "version: 0.1\nlog: {level: error}\n"
                f"storage:\n  filesystem: {{rootdirectory: {self.dir}/data}}\n"
                f"http: {{addr: {self.host}}}\n"
            )
        self.proc = subprocess.Popen(
            ["docker-registry", "serve", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(self.host.split(":"), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("docker-registry did not start")
                time.sleep(0.02)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def measure(cmd, env=None):
    """Runs cmd; returns (seconds, peak RSS in MiB).

    The peak is the kernel's VmHWM of the process, sampled every 2 ms until it exits: a
    child's ru_maxrss would include the Python interpreter it was forked from.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak_kb = 0
    status_path = f"/proc/{proc.pid}/status"
    while proc.poll() is None:
        try:
            with open(status_path) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak_kb = max(peak_kb, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{stderr}")
    return elapsed, peak_kb / 1024


def make_pack(folder, size_mb, files):
    os.makedirs(os.path.join(folder, "data"))
    sample = os.path.join(ROOT, "testdata/packs/hello-chart")
    shutil.copy(os.path.join(sample, "logo.png"), folder)
    shutil.copy(os.path.join(sample, "values.yaml"), folder)
    with open(os.path.join(folder, "pack.json"), "w") as f:
        json.dump(
            {"name": "bench", "displayName": "Bench", "layer": "addon", "addonType": "monitoring",
             "version": "1.0.0", "cloudTypes": ["all"]}, f)
    per_file = size_mb * 1024 * 1024 // files
    for i in range(files):
        with open(os.path.join(folder, "data", f"part-{i}.bin"), "wb") as f:
            left = per_file
            while left:
                chunk = min(left, 8 << 20)
                f.write(os.urandom(chunk))
                left -= chunk
    # Old enough for the digest cache to trust (it ignores files changed in the last 2 s).
    past = time.time() - 60
    for d, _, fs in os.walk(folder):
        for name in fs:
            os.utime(os.path.join(d, name), (past, past))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200", help="pack sizes in MB, comma-separated")
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--packctl", default=os.path.join(ROOT, "target/release/packctl"))
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if not os.path.exists(args.packctl):
        sys.exit(f"{args.packctl} is missing: run `cargo build --release` first")

    results = []
    work = tempfile.mkdtemp(prefix="packctl-bench-")
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            pack = os.path.join(work, f"pack-{size}")
            make_pack(pack, size, args.files)
            cache = os.path.join(work, "cache")
            env = dict(os.environ, PACKCTL_CACHE_DIR=cache, HOME=work)
            rows = {k: [] for k in ["packctl push", "packctl push (unchanged)", "packctl pull", "oras push", "oras pull"]}
            for run in range(args.runs):
                shutil.rmtree(cache, ignore_errors=True)
                reg = Registry(work)
                try:
                    cmd = [args.packctl, "pack", "push", pack, "-r", reg.host, "-q", "--no-progress"]
                    rows["packctl push"].append(measure(cmd, env))
                    rows["packctl push (unchanged)"].append(measure(cmd, env))
                    out = os.path.join(work, f"pulled-{size}-{run}")
                    rows["packctl pull"].append(
                        measure([args.packctl, "pack", "pull", "bench", out, "-r", reg.host, "-q", "--no-progress"], env))
                    shutil.rmtree(out)
                finally:
                    reg.stop()
                reg = Registry(work)
                try:
                    ref = f"{reg.host}/spectro-packs/archive/bench:1.0.0"
                    rows["oras push"].append(measure([sys.executable, "-c", ORAS_PUSH, ref, pack]))
                    out = os.path.join(work, f"oras-{size}-{run}")
                    rows["oras pull"].append(measure([sys.executable, "-c", ORAS_PULL, ref, out]))
                    shutil.rmtree(out)
                finally:
                    reg.stop()
            print(f"\n{size} MB pack, {args.files} files of {size // args.files} MB, median of {args.runs} runs")
            print(f"{'':28}{'seconds':>9}{'MB/s':>9}{'peak MiB':>10}")
            summary = {}
            for name, samples in rows.items():
                secs = statistics.median(s for s, _ in samples)
                rss = max(m for _, m in samples)
                rate = size / secs if "unchanged" not in name else float("nan")
                summary[name] = {"seconds": round(secs, 3), "peak_mib": round(rss, 1)}
                print(f"{name:28}{secs:9.3f}{rate:9.0f}{rss:10.1f}")
            push_ratio = summary["packctl push"]["seconds"] / summary["oras push"]["seconds"]
            pull_ratio = summary["packctl pull"]["seconds"] / summary["oras pull"]["seconds"]
            print(f"packctl/oras time: push {push_ratio:.2f}x, pull {pull_ratio:.2f}x")
            results.append({"size_mb": size, "files": args.files, "runs": args.runs, "results": summary,
                            "push_ratio": round(push_ratio, 3), "pull_ratio": round(pull_ratio, 3)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
