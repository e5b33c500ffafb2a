#!/usr/bin/env python3
"""bench/volumes.py: volume data (issue 15) through the mount, against MinIO.

    bench/volumes.py [--size-mib 1024] [--files 100000]

pvbwriter (tests/servers/go/pvbwriter: Velero v1.17.2's kopia uploader) backs up a directory into
MinIO as the node-agent would; the fixture backup ns-shop gets that PodVolumeBackup; velerofs mounts
the bucket and this script times, with an empty cache and then with the cache of the first mount
(a new mount each time, so the kernel's page cache is empty):

  - reading a file of --size-mib MiB (cat > /dev/null), and checking it equals the source;
  - find -type f and ls -lR over a volume of --files small files.

Not yet here: the baseline the issue asks for (`kopia restore` of the same file from the same
repository, in the same run); it needs the kopia CLI of Velero's kopia fork built by
tests/servers/build.sh. Needs tests/servers/build.sh minio pvbwriter and a build in ./build
(or $VELEROFS_BUILD).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

from servers import harness  # noqa: E402
import util  # noqa: E402


def backup_volume(m, src: pathlib.Path, work: pathlib.Path) -> None:
    """pvbwriter's backup of src as shop/db-0/data of backup ns-shop, and the backup itself."""
    pvb = work / "ns-shop-podvolumebackups.json.gz"
    t0 = time.time()
    r = subprocess.run([str(harness.binary("pvbwriter")), "-endpoint", m.url, "-bucket", "velero",
                        "-region", m.region, "-access-key", m.access_key, "-secret-key", m.secret_key,
                        "-backup", "ns-shop", "-backup-uid", "u", "-namespace", "shop", "-pod", "db-0",
                        "-pod-uid", "p", "-volume", "data", "-source", str(src), "-pvb-out", str(pvb),
                        "-workdir", str(work / "kopia")], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("pvbwriter: " + r.stderr)
    print(f"  pvbwriter (Velero's kopia uploader): {time.time() - t0:.1f}s", flush=True)
    fx = REPO / "tests/fixtures/velero-v1.17.2/backups/ns-shop"
    for p in fx.iterdir():
        m.put("velero", "backups/ns-shop/" + p.name, p.read_bytes())
    m.put("velero", "backups/ns-shop/ns-shop-podvolumebackups.json.gz", pvb.read_bytes())


def mounts(m, work: pathlib.Path):
    """Yields (label, volume directory) for a cold and a warm mount."""
    build = pathlib.Path(os.environ.get("VELEROFS_BUILD", REPO / "build"))
    url = f"s3://velero?endpoint={m.url}&style=path&region={m.region}"
    os.environ.update(AWS_ACCESS_KEY_ID=m.access_key, AWS_SECRET_ACCESS_KEY=m.secret_key,
                      AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    for label in ("cold", "warm"):
        mnt = util.Mount(build / "velerofs", url, work / f"mnt-{label}", work / "cache", stderr_dir=work)
        mnt.start()
        try:
            yield label, pathlib.Path(os.fspath(mnt)) / "backups/ns-shop/volumes/shop/db-0/data"
        finally:
            mnt.stop()


def bench_read(size_mib: int, base: pathlib.Path) -> None:
    print(f"read a {size_mib} MiB file", flush=True)
    src = base / "src-read"
    src.mkdir(parents=True)
    blk = os.urandom(1 << 20)
    h = hashlib.sha256()
    with open(src / "big.bin", "wb") as f:
        for i in range(size_mib):
            b = bytes([i % 256]) + blk[1:]
            f.write(b)
            h.update(b)
    m = harness.Minio(workdir=base / "minio-read").start()
    try:
        backup_volume(m, src, base)
        for label, d in mounts(m, base):
            os.stat(d / "big.bin")
            t0 = time.time()
            got = hashlib.sha256()
            with open(d / "big.bin", "rb") as f:
                while b := f.read(1 << 20):
                    got.update(b)
            dt = time.time() - t0
            assert got.digest() == h.digest(), "the file read back differs from the source"
            print(f"  {label} cache: {dt:.2f}s = {size_mib / dt:.0f} MiB/s (sha256 included)", flush=True)
    finally:
        m.stop()


def bench_list(files: int, base: pathlib.Path) -> None:
    print(f"list a volume of {files} files", flush=True)
    src = base / "src-list"
    per = 1000
    for i in range(files):
        d = src / f"d{i // per:04}"
        if i % per == 0:
            d.mkdir(parents=True)
        (d / f"f{i % per:04}").write_bytes(b"x" * (i % 50))
    m = harness.Minio(workdir=base / "minio-list").start()
    try:
        backup_volume(m, src, base)
        for label, d in mounts(m, base):
            t0 = time.time()
            out = subprocess.run(["find", str(d), "-type", "f"], capture_output=True, text=True,
                                 check=True).stdout
            t1 = time.time()
            subprocess.run(["ls", "-lR", str(d)], stdout=subprocess.DEVNULL, check=True)
            t2 = time.time()
            assert out.count("\n") == files
            print(f"  {label} cache: find {t1 - t0:.2f}s, then ls -lR {t2 - t1:.2f}s", flush=True)
    finally:
        m.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=100000)
    a = ap.parse_args()
    base = pathlib.Path(tempfile.mkdtemp(prefix="velerofs-volbench-"))
    try:
        print(f"machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}", flush=True)
        bench_read(a.size_mib, base / "read")
        bench_list(a.files, base / "list")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
