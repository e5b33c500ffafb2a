#!/usr/bin/env python3
"""bench/volumes.py: volume data (issue 15) through the mount, against MinIO.

    bench/volumes.py [--size-mib 1024] [--files 100000]

pvbwriter (tests/servers/go/pvbwriter: Velero v1.17.2's kopia uploader) backs up a directory into
MinIO as the node-agent would; the fixture backup ns-shop gets that PodVolumeBackup; velerofs mounts
the bucket and this script times, with an empty cache and then with the cache of the first mount
(a new mount each time, so the kernel's page cache is empty):

  - reading a file of --size-mib MiB (stat, then read in 1 MiB pieces, sha256 included), and
    checking it equals the source; the baseline in the same run: `kopia restore` of the same file
    from the same repository (the kopia CLI of Velero's kopia fork at the version pvbwriter pins,
    tests/servers/build.sh kopia), cold (an empty kopia cache) and warm (the cache of the cold
    run), sha256 of the restored file included; the ratio is velerofs's throughput over kopia's;
  - find -type f and ls -lR over a volume of --files small files.

Both sides open the repository inside the timed part (velerofs on the first stat of the volume,
kopia in `kopia restore`); `kopia repository connect` (a config file) is outside it.
--skip-list runs only the read. Needs tests/servers/build.sh minio pvbwriter kopia and a build in
./build (or $VELEROFS_BUILD).
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


def backup_volume(m, src: pathlib.Path, work: pathlib.Path) -> str:
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
    snap = r.stdout.strip()
    fx = REPO / "tests/fixtures/velero-v1.17.2/backups/ns-shop"
    for p in fx.iterdir():
        m.put("velero", "backups/ns-shop/" + p.name, p.read_bytes())
    m.put("velero", "backups/ns-shop/ns-shop-podvolumebackups.json.gz", pvb.read_bytes())
    return snap


def kopia_bin() -> pathlib.Path | None:
    cache = pathlib.Path(os.environ.get("VELEROFS_TEST_CACHE", pathlib.Path.home() / ".cache/velerofs-test"))
    for d in sorted(cache.glob("kopia-*")):
        if (d / "bin" / "kopia").is_file() and (d / ".stamp").is_file():
            return d / "bin" / "kopia"
    return None


def sha256_of(path: pathlib.Path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(1 << 20):
            h.update(b)
    return h.digest()


def kopia_restores(m, work: pathlib.Path, snap: str, name: str, size_mib: int, want: bytes):
    """Yields (label, seconds) of `kopia restore <snapshot>/<name>`, cold then warm."""
    k = kopia_bin()
    if not k:
        print("  kopia restore: no kopia CLI (tests/servers/build.sh kopia); no baseline", flush=True)
        return
    cfg, cachedir = work / "kopia.config", work / "kopia-cache"
    env = dict(os.environ, KOPIA_PASSWORD="static-passw0rd", KOPIA_CHECK_FOR_UPDATES="false")
    host = m.url.split("://", 1)[1]
    subprocess.run([str(k), "repository", "connect", "s3", "--config-file", str(cfg),
                    "--cache-directory", str(cachedir), "--bucket", "velero", "--prefix", "kopia/shop/",
                    "--endpoint", host, "--disable-tls", "--region", m.region,
                    "--access-key", m.access_key, "--secret-access-key", m.secret_key,
                    "--no-persist-credentials"],
                   env=env, check=True, capture_output=True, text=True)
    shutil.rmtree(cachedir, ignore_errors=True)  # connect read the index: cold means empty
    for label in ("cold", "warm"):
        out = work / f"kopia-restored-{label}.bin"
        t0 = time.time()
        r = subprocess.run([str(k), "restore", "--config-file", str(cfg), f"{snap}/{name}", str(out)],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("kopia restore: " + r.stderr)
        ok = sha256_of(out) == want
        dt = time.time() - t0
        assert ok, "kopia restored a file that differs from the source"
        out.unlink()
        yield label, dt


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
        snap = backup_volume(m, src, base)
        ours = {}
        for label, d in mounts(m, base):
            t0 = time.time()
            os.stat(d / "big.bin")  # opens the repository, as kopia restore does
            got = hashlib.sha256()
            with open(d / "big.bin", "rb") as f:
                while b := f.read(1 << 20):
                    got.update(b)
            dt = time.time() - t0
            assert got.digest() == h.digest(), "the file read back differs from the source"
            ours[label] = dt
            print(f"  velerofs {label} cache: {dt:.2f}s = {size_mib / dt:.0f} MiB/s (sha256 included)",
                  flush=True)
        for label, dt in kopia_restores(m, base, snap, "big.bin", size_mib, h.digest()):
            print(f"  kopia restore {label} cache: {dt:.2f}s = {size_mib / dt:.0f} MiB/s "
                  f"(sha256 included); velerofs/kopia throughput: {dt / ours[label]:.2f}x", flush=True)
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
    ap.add_argument("--skip-list", action="store_true")
    a = ap.parse_args()
    base = pathlib.Path(tempfile.mkdtemp(prefix="velerofs-volbench-"))
    try:
        print(f"machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}", flush=True)
        bench_read(a.size_mib, base / "read")
        if not a.skip_list:
            bench_list(a.files, base / "list")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
