#!/usr/bin/env python3
"""Push and pull benchmark: packctl beside the oras Python SDK, on local docker-registry.

Every case runs packctl and the oras SDK on the same files, each on a fresh `docker-registry`
started on a free loopback port, and prints the median wall time and the peak memory (max
RSS of one process) of each step, and packctl's time as a ratio of the oras SDK's.

Cases (--cases, comma-separated):

  four      a pack whose data is --files random files of --size MB in all (default 4 × 50 MB):
            push (cold: the digest cache emptied first), push again (unchanged), pull.
  small     a pack of --small-files small files (~5 KiB each, ~2 MB in all): an unpacked chart
            folder beside its .tgz, and many Kubernetes manifests, as real packs are.
  archive   the --size MB pack in the archive encoding (`--format archive`): push, push again
            (unchanged). The oras SDK side is Palette's documented recipe: `tar -czf`, then
            `oras push` of the archive.
  catalog   --catalog packs of a few files each, pushed one process each with `-f` (as a pack
            pipeline does on every run): the whole catalog, then the whole catalog again
            (unchanged); times are per pack.

usage: scripts/bench.py [--cases four,small,archive,catalog] [--size 200] [--files 4]
                        [--small-files 400] [--catalog 100] [--runs 3] [--packctl PATH]
                        [--json OUT] [--registry-dir DIR]

The registries store blobs in --registry-dir (default /dev/shm), so that the registry's own
disk writes, the same for both clients, do not drown the difference between them.

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
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where the registries keep their storage (--registry-dir).
REGISTRY_DIR = None

ORAS_PUSH = r"""
import os, sys, oras.client
ref, folder = sys.argv[1], sys.argv[2]
os.chdir(folder)
files = sorted(os.path.join(d, f)[2:] for d, _, fs in os.walk(".") for f in fs)
oras.client.OrasClient(insecure=True).push(target=ref, files=files, disable_path_validation=True)
"""

ORAS_PUSH_FILE = r"""
import os, sys, oras.client
ref, path = sys.argv[1], sys.argv[2]
os.chdir(os.path.dirname(path))
oras.client.OrasClient(insecure=True).push(target=ref, files=[os.path.basename(path)])
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
        self.dir = tempfile.mkdtemp(prefix="registry-", dir=REGISTRY_DIR or workdir)
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

    def __enter__(self):
        return self

    def __exit__(self, *_):
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


def measure_all(cmds, env=None):
    """Runs the commands one after another; returns (seconds per command, peak RSS)."""
    start = time.perf_counter()
    peak = 0.0
    for cmd in cmds:
        peak = max(peak, measure(cmd, env)[1])
    return (time.perf_counter() - start) / len(cmds), peak


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2)


def pack_json(name, charts=()):
    return {"name": name, "displayName": name.title(), "layer": "addon", "addonType": "monitoring",
            "version": "1.0.0", "cloudTypes": ["all"], "charts": list(charts)}


def age(folder):
    """Dates every file a minute back. The caches also ignore files whose change time is in
    the last 2 s, which no call can set back: main() waits that long before the first case."""
    past = time.time() - 60
    for d, _, fs in os.walk(folder):
        for name in fs:
            os.utime(os.path.join(d, name), (past, past))


def base_files(folder):
    sample = os.path.join(ROOT, "testdata/packs/hello-chart")
    shutil.copy(os.path.join(sample, "logo.png"), folder)
    shutil.copy(os.path.join(sample, "values.yaml"), folder)


def make_big_pack(folder, size_mb, files):
    os.makedirs(os.path.join(folder, "data"))
    base_files(folder)
    write_json(os.path.join(folder, "pack.json"), pack_json("bench"))
    per_file = size_mb * 1024 * 1024 // files
    for i in range(files):
        with open(os.path.join(folder, "data", f"part-{i}.bin"), "wb") as f:
            left = per_file
            while left:
                chunk = min(left, 8 << 20)
                f.write(os.urandom(chunk))
                left -= chunk
    age(folder)


def yaml_text(kind, name, lines):
    body = "".join(f"  key{i}: \"{os.urandom(24).hex()}\"\n" for i in range(lines))
    return f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\ndata:\n{body}"


def make_small_pack(folder, name, files):
    """A pack of `files` files of ~5 KiB: a chart folder, its .tgz, and manifests."""
    chart = os.path.join(folder, "charts", name)
    os.makedirs(os.path.join(chart, "templates"))
    os.makedirs(os.path.join(folder, "manifests"))
    base_files(folder)
    with open(os.path.join(chart, "Chart.yaml"), "w") as f:
        f.write(f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n")
    templates = max(1, (files - 6) * 2 // 3)
    for i in range(templates):
        with open(os.path.join(chart, "templates", f"t{i:03}.yaml"), "w") as f:
            f.write(yaml_text("ConfigMap", f"t{i}", 60))
    tgz = os.path.join(folder, "charts", f"{name}-1.0.0.tgz")
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(chart, arcname=name)
    for i in range(files - 6 - templates):
        with open(os.path.join(folder, "manifests", f"m{i:03}.yaml"), "w") as f:
            f.write(yaml_text("Secret", f"m{i}", 60))
    write_json(os.path.join(folder, "pack.json"), pack_json(name, [f"charts/{name}-1.0.0.tgz"]))
    age(folder)


def make_catalog_pack(folder, name):
    """A pack as most of a catalog is: pack.json, values.yaml, logo.png and a chart."""
    chart = os.path.join(folder, "work", name)
    os.makedirs(os.path.join(chart, "templates"))
    with open(os.path.join(chart, "Chart.yaml"), "w") as f:
        f.write(f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n")
    for i in range(4):
        with open(os.path.join(chart, "templates", f"t{i}.yaml"), "w") as f:
            f.write(yaml_text("ConfigMap", f"t{i}", 200))
    os.makedirs(os.path.join(folder, "charts"))
    with tarfile.open(os.path.join(folder, "charts", f"{name}-1.0.0.tgz"), "w:gz") as tar:
        tar.add(chart, arcname=name)
    shutil.rmtree(os.path.join(folder, "work"))
    base_files(folder)
    write_json(os.path.join(folder, "pack.json"), pack_json(name, [f"charts/{name}-1.0.0.tgz"]))
    age(folder)


def count_files(folder):
    return sum(len(fs) for _, _, fs in os.walk(folder))


class Bench:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.cache = os.path.join(work, "cache")
        self.env = dict(os.environ, PACKCTL_CACHE_DIR=self.cache, HOME=work)

    def packctl(self, *argv):
        return [self.args.packctl, *argv, "-q", "--no-progress"]

    def push(self, folder, host, *extra):
        return self.packctl("pack", "push", folder, "-r", host, *extra)

    def fresh_cache(self):
        shutil.rmtree(self.cache, ignore_errors=True)

    def folder_case(self, title, folder, name, extra=(), pull=True):
        """packctl push, push again, pull; the oras SDK push, push again, pull."""
        steps = ["packctl push", "packctl push (unchanged)"] + (["packctl pull"] if pull else [])
        steps += ["oras push", "oras push (again)"] + (["oras pull"] if pull else [])
        rows = {k: [] for k in steps}
        for run in range(self.args.runs):
            self.fresh_cache()
            with Registry(self.work) as reg:
                rows["packctl push"].append(measure(self.push(folder, reg.host, *extra), self.env))
                rows["packctl push (unchanged)"].append(measure(self.push(folder, reg.host, *extra), self.env))
                if pull:
                    out = os.path.join(self.work, f"pulled-{run}")
                    rows["packctl pull"].append(
                        measure(self.packctl("pack", "pull", f"{name}:1.0.0", out, "-r", reg.host), self.env))
                    shutil.rmtree(out)
            with Registry(self.work) as reg:
                ref = f"{reg.host}/spectro-packs/archive/{name}:1.0.0"
                rows["oras push"].append(measure([sys.executable, "-c", ORAS_PUSH, ref, folder]))
                rows["oras push (again)"].append(measure([sys.executable, "-c", ORAS_PUSH, ref, folder]))
                if pull:
                    out = os.path.join(self.work, f"oras-{run}")
                    rows["oras pull"].append(measure([sys.executable, "-c", ORAS_PULL, ref, out]))
                    shutil.rmtree(out)
        pairs = [("packctl push", "oras push"), ("packctl push (unchanged)", "oras push (again)")]
        if pull:
            pairs.append(("packctl pull", "oras pull"))
        return report(title, rows, pairs)

    def archive_case(self, folder, name):
        """The archive encoding beside `tar -czf` + `oras push`."""
        steps = ["packctl push", "packctl push (unchanged)", "tar -czf + oras push", "tar -czf + oras push (again)"]
        rows = {k: [] for k in steps}
        tgz = os.path.join(self.work, "recipe", f"{name}.tgz")
        os.makedirs(os.path.dirname(tgz), exist_ok=True)
        for _ in range(self.args.runs):
            self.fresh_cache()
            with Registry(self.work) as reg:
                cmd = self.push(folder, reg.host, "--format", "archive")
                rows["packctl push"].append(measure(cmd, self.env))
                rows["packctl push (unchanged)"].append(measure(cmd, self.env))
            with Registry(self.work) as reg:
                ref = f"{reg.host}/spectro-packs/archive/{name}:1.0.0"
                tar = measure(["tar", "-czf", tgz, "-C", os.path.dirname(folder), os.path.basename(folder)])
                push = measure([sys.executable, "-c", ORAS_PUSH_FILE, ref, tgz])
                rows["tar -czf + oras push"].append((tar[0] + push[0], max(tar[1], push[1])))
                tar = measure(["tar", "-czf", tgz, "-C", os.path.dirname(folder), os.path.basename(folder)])
                push = measure([sys.executable, "-c", ORAS_PUSH_FILE, ref, tgz])
                rows["tar -czf + oras push (again)"].append((tar[0] + push[0], max(tar[1], push[1])))
        pairs = [("packctl push", "tar -czf + oras push"),
                 ("packctl push (unchanged)", "tar -czf + oras push (again)")]
        return report(f"{self.args.size} MB pack in the archive encoding", rows, pairs)

    def catalog_case(self, folders):
        steps = ["packctl push -f", "packctl push -f (unchanged)", "oras push", "oras push (again)"]
        rows = {k: [] for k in steps}
        for _ in range(self.args.runs):
            self.fresh_cache()
            with Registry(self.work) as reg:
                cmds = [self.push(f, reg.host, "-f") for f in folders]
                rows["packctl push -f"].append(measure_all(cmds, self.env))
                rows["packctl push -f (unchanged)"].append(measure_all(cmds, self.env))
            with Registry(self.work) as reg:
                cmds = [[sys.executable, "-c", ORAS_PUSH, f"{reg.host}/spectro-packs/archive/{os.path.basename(f)}:1.0.0", f]
                        for f in folders]
                rows["oras push"].append(measure_all(cmds))
                rows["oras push (again)"].append(measure_all(cmds))
        pairs = [("packctl push -f", "oras push"), ("packctl push -f (unchanged)", "oras push (again)")]
        return report(f"a catalog of {len(folders)} packs, one process each; seconds per pack", rows, pairs)


def report(title, rows, pairs):
    print(f"\n{title}: median of {len(next(iter(rows.values())))} runs")
    print(f"{'':30}{'seconds':>9}{'peak MiB':>10}")
    summary = {}
    for name, samples in rows.items():
        secs = statistics.median(s for s, _ in samples)
        rss = max(m for _, m in samples)
        summary[name] = {"seconds": round(secs, 4), "peak_mib": round(rss, 1)}
        print(f"{name:30}{secs:9.3f}{rss:10.1f}")
    ratios = {}
    for ours, theirs in pairs:
        ratio = summary[ours]["seconds"] / summary[theirs]["seconds"]
        ratios[f"{ours} / {theirs}"] = round(ratio, 3)
        print(f"  {ours} / {theirs}: {ratio:.2f}x")
    return {"case": title, "results": summary, "ratios": ratios}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="four,small,archive,catalog")
    parser.add_argument("--size", type=int, default=200, help="MB of data in the four and archive cases")
    parser.add_argument("--files", type=int, default=4, help="files of the four case")
    parser.add_argument("--small-files", type=int, default=400)
    parser.add_argument("--catalog", type=int, default=100, help="packs in the catalog case")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--packctl", default=os.path.join(ROOT, "target/release/packctl"))
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--registry-dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                        help="where the registries store blobs (default /dev/shm: a registry writing "
                             "to a virtual machine's disk makes the same push take 2 to 4 s)")
    args = parser.parse_args()
    global REGISTRY_DIR
    REGISTRY_DIR = args.registry_dir
    if not os.path.exists(args.packctl):
        sys.exit(f"{args.packctl} is missing: run `cargo build --release` first")
    cases = args.cases.split(",")
    unknown = set(cases) - {"four", "small", "archive", "catalog"}
    if unknown:
        sys.exit(f"unknown case(s): {', '.join(sorted(unknown))}")

    results = []
    work = tempfile.mkdtemp(prefix="packctl-bench-")
    try:
        bench = Bench(args, work)
        big = os.path.join(work, "bench")
        small = os.path.join(work, "small")
        folders = [os.path.join(work, "catalog", f"pack{i:03}") for i in range(args.catalog)]
        if "four" in cases or "archive" in cases:
            make_big_pack(big, args.size, args.files)
        if "small" in cases:
            make_small_pack(small, "small", args.small_files)
        if "catalog" in cases:
            for folder in folders:
                make_catalog_pack(folder, os.path.basename(folder))
        time.sleep(2.1)
        if "four" in cases:
            title = f"{args.size} MB pack, {args.files} files of {args.size // args.files} MB"
            results.append(bench.folder_case(title, big, "bench"))
        if "small" in cases:
            size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(small) for f in fs)
            title = f"a pack of {count_files(small)} small files, {size / 1e6:.1f} MB"
            results.append(bench.folder_case(title, small, "small"))
        if "archive" in cases:
            results.append(bench.archive_case(big, "bench"))
        if "catalog" in cases:
            results.append(bench.catalog_case(folders))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        write_json(args.json, results)


if __name__ == "__main__":
    main()
