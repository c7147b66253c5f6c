#!/usr/bin/env python3
"""Image mirroring benchmark: `packctl pack copy --with-images` beside `skopeo copy --all`.

A source `docker-registry` gets --images images (every second one an index of two
platforms), each of a base layer they share and a layer of --layer-mb MB of their own, and
a pack that lists them under pack.content.images. Each run then mirrors them into a fresh
registry:

  skopeo, one after another   `skopeo copy --all` per image, as a mirroring script runs it
  skopeo, 4 at once           the same commands through `xargs -P 4`
  packctl                     `packctl pack copy PACK --from SRC --to DST --with-images`
                              (the pack too, which is a few KiB)

and prints the median wall time of each, and packctl's as a ratio of skopeo's.

usage: scripts/bench_mirror.py [--images 6] [--layer-mb 20] [--runs 3] [--packctl PATH]
                               [--json OUT] [--registry-dir DIR]

Needs: docker-registry and skopeo (Debian), and a release build of packctl.
"""

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import gzip

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the registry and measuring helpers)
from bench import Registry, measure, report  # noqa: E402


def put_blob(layout, media_type, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def layer(name, content):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, compresslevel=1, mtime=0), hashlib.sha256(tar_bytes).hexdigest()


def image(layout, seed, arch, layer_mb):
    base, base_id = layer("etc/base", b"shared base layer\n" * 1000)
    own, own_id = layer(f"bin/{arch}", os.urandom(layer_mb * 1024 * 1024))
    config = {"architecture": arch, "os": "linux", "config": {"Labels": {"seed": seed}},
              "rootfs": {"type": "layers", "diff_ids": [f"sha256:{base_id}", f"sha256:{own_id}"]}}
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": put_blob(layout, "application/vnd.oci.image.config.v1+json",
                           json.dumps(config).encode()),
        "layers": [put_blob(layout, "application/vnd.oci.image.layer.v1.tar+gzip", b)
                   for b in (base, own)],
    }
    d = put_blob(layout, "application/vnd.oci.image.manifest.v1+json", json.dumps(manifest).encode())
    d["platform"] = {"architecture": arch, "os": "linux"}
    return d


def write_layout(layout, seed, arches, layer_mb):
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    if len(arches) == 1:
        root = image(layout, seed, arches[0], layer_mb)
        del root["platform"]
    else:
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": [image(layout, seed, a, layer_mb) for a in arches]}
        root = put_blob(layout, "application/vnd.oci.image.index.v1+json", json.dumps(index).encode())
    root["annotations"] = {"org.opencontainers.image.ref.name": "1.0"}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [root]}, f)


def mirrored(image):
    """Where packctl's default mapping puts an image: its host as the first path part."""
    host, rest = image.split("/", 1)
    return f"{host.replace(':', '-')}/{rest}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--layer-mb", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--packctl", default=os.path.join(bench.ROOT, "target/release/packctl"))
    parser.add_argument("--json")
    parser.add_argument("--registry-dir", default="/dev/shm")
    args = parser.parse_args()
    bench.REGISTRY_DIR = args.registry_dir
    work = tempfile.mkdtemp(prefix="bench-mirror-")
    env = dict(os.environ, HOME=work, DOCKER_CONFIG=os.path.join(work, "docker"))
    rows = {"skopeo copy --all, one after another": [], "skopeo copy --all, 4 at once": [],
            "packctl copy --with-images": []}
    with Registry(work) as source:
        images = []
        for i in range(args.images):
            arches = ["amd64", "arm64"] if i % 2 else ["amd64"]
            layout = os.path.join(work, f"layout-{i}")
            write_layout(layout, f"image-{i}", arches, args.layer_mb)
            repository = f"bench/image-{i}"
            subprocess.run(["skopeo", "copy", "--all", "--quiet", "--dest-tls-verify=false",
                            f"oci:{layout}:1.0", f"docker://{source.host}/{repository}:1.0"],
                           check=True)
            images.append(f"{source.host}/{repository}:1.0")
        pack = os.path.join(work, "pack")
        os.makedirs(pack)
        bench.write_json(os.path.join(pack, "pack.json"), {
            "name": "mirror-bench", "displayName": "Mirror bench", "layer": "addon",
            "addonType": "monitoring", "version": "1.0.0", "cloudTypes": ["all"]})
        bench.base_files(pack)
        bench.write_json(os.path.join(pack, "pack.json"), {
            "name": "mirror-bench", "displayName": "Mirror bench", "layer": "addon",
            "addonType": "monitoring", "version": "1.0.0", "cloudTypes": ["all"]})
        with open(os.path.join(pack, "values.yaml"), "w") as f:
            f.write("pack:\n  namespace: bench\n  content:\n    images:\n")
            f.writelines(f"      - image: {image}\n" for image in images)
        measure([args.packctl, "pack", "push", pack, "-r", source.host], env)
        total_mb = sum((1 + i % 2) * args.layer_mb for i in range(args.images))
        print(f"{args.images} images ({args.images // 2} with two platforms), "
              f"{total_mb} MB of layers, from {source.host}")
        for _ in range(args.runs):
            with Registry(work) as target:
                start = time.perf_counter()
                peak = 0.0
                for image in images:
                    peak = max(peak, measure(["skopeo", "copy", "--all", "--quiet", "--src-tls-verify=false",
                             "--dest-tls-verify=false", f"docker://{image}",
                             f"docker://{target.host}/{mirrored(image)}"], env)[1])
                rows["skopeo copy --all, one after another"].append(
                    (time.perf_counter() - start, peak))
            with Registry(work) as target:
                script = "\n".join(
                    f"docker://{image} docker://{target.host}/{mirrored(image)}" for image in images)
                start = time.perf_counter()
                subprocess.run(
                    ["xargs", "-P", "4", "-n", "2", "skopeo", "copy", "--all", "--quiet",
                     "--src-tls-verify=false", "--dest-tls-verify=false"],
                    input=script.encode(), check=True, env=env)
                rows["skopeo copy --all, 4 at once"].append((time.perf_counter() - start, 0.0))
            with Registry(work) as target:
                rows["packctl copy --with-images"].append(measure(
                    [args.packctl, "pack", "copy", "mirror-bench:1.0.0", "--from", source.host,
                     "--to", target.host, "--with-images"], env))
                # Every image arrived with its digest.
                for image in images:
                    for ref in (f"docker://{image}", f"docker://{target.host}/{mirrored(image)}"):
                        out = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                              ref], check=True, capture_output=True).stdout
                        digest = hashlib.sha256(out).hexdigest()
                        if ref.startswith(f"docker://{image}"):
                            want = digest
                        elif digest != want:
                            raise RuntimeError(f"{ref} has another digest")
    summary = report("mirror", rows, [
        ("packctl copy --with-images", "skopeo copy --all, one after another"),
        ("packctl copy --with-images", "skopeo copy --all, 4 at once")])
    if args.json:
        bench.write_json(args.json, summary)


if __name__ == "__main__":
    main()
