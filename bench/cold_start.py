#!/usr/bin/env python3
"""The cold start of velerofs (issue 14): what a run costs before any
backup is read, after `echo 3 > /proc/sys/vm/drop_caches`.

For each binary given (LABEL=PATH), interleaved run by run, the order
alternating, caches dropped before each measurement:

  version   `velerofs version`: exec and the shared libraries
  mount     `velerofs mount -f` into an empty cache until the mount is up
  ls        then `ls -R MOUNT/backups/BACKUP` (the index build of one
            backup), timed on its own
  gzip      `gzip -dc` of that backup's tarball, the issue's yardstick

and, load-independent, the major page faults and the KiB read from
storage of `version` and of the mount daemon by the end of `ls`. Needs root (for
drop_caches) and fusermount3; a cluster's kubeconfig is hidden (HOME and
KUBECONFIG), so that the mount is the local one the issue measures.

  sudo bench/cold_start.py --runs 7 --workdir /tmp/x \\
      main=/path/to/main/build/velerofs new=build/velerofs
"""

import argparse
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def drop_caches():
    subprocess.run(["sync"], check=True)
    pathlib.Path("/proc/sys/vm/drop_caches").write_text("3\n")


def majflt_children():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_majflt


def read_kb(pid="self"):
    """Bytes a process had fetched from storage, in KiB; for "self", with
    its reaped children's (the kernel adds them up at wait())."""
    for line in pathlib.Path("/proc/%s/io" % pid).read_text().splitlines():
        if line.startswith("read_bytes:"):
            return int(line.split()[1]) // 1024
    return 0


def proc_stat(pid):
    """(major faults, user+system CPU seconds) of a live process."""
    f = pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(f[9]), (int(f[11]) + int(f[12])) / tick


def timed(cmd, env, **kw):
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, **kw)
    return time.perf_counter() - t


def one_run(binary, args, env, work):
    r = {}
    drop_caches()
    m0, k0 = majflt_children(), read_kb()
    r["version"] = timed([binary, "version"], env, stdout=subprocess.DEVNULL)
    r["version_majflt"] = majflt_children() - m0
    r["version_read_kb"] = read_kb() - k0

    cache, mnt = work / "cache", work / "mnt"
    shutil.rmtree(cache, ignore_errors=True)
    mnt.mkdir(parents=True, exist_ok=True)
    drop_caches()
    t = time.perf_counter()
    p = subprocess.Popen([binary, "mount", "-f", "--cache", str(cache), str(args.vault),
                          str(mnt)], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        while not os.path.ismount(mnt):
            if p.poll() is not None:
                sys.exit("%s mount exited with %d" % (binary, p.returncode))
            time.sleep(0.001)
        r["mount"] = time.perf_counter() - t
        r["ls"] = timed(["ls", "-R", str(mnt / "backups" / args.backup)], env,
                        stdout=subprocess.DEVNULL)
        r["mount+ls"] = r["mount"] + r["ls"]
        r["daemon_majflt"], r["daemon_cpu"] = proc_stat(p.pid)
        r["daemon_read_kb"] = read_kb(p.pid)
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], check=False)
        p.wait(timeout=30)

    tarball = args.vault / "backups" / args.backup / (args.backup + ".tar.gz")
    drop_caches()
    r["gzip"] = timed(["gzip", "-dc", str(tarball)], env, stdout=subprocess.DEVNULL)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binaries", nargs="+", help="LABEL=PATH of a velerofs binary")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--workdir", type=pathlib.Path, required=True)
    ap.add_argument("--vault", type=pathlib.Path, default=ROOT / "examples" / "vault")
    ap.add_argument("--backup", default="full")
    args = ap.parse_args()
    args.vault = args.vault.resolve()
    bins = [b.split("=", 1) for b in args.binaries]
    env = dict(os.environ, HOME=str(args.workdir))
    env.pop("KUBECONFIG", None)
    args.workdir.mkdir(parents=True, exist_ok=True)

    res = {label: [] for label, _ in bins}
    for i in range(args.runs):
        order = bins if i % 2 == 0 else bins[::-1]
        for label, path in order:
            r = one_run(path, args, env, args.workdir / label)
            res[label].append(r)
            print("run %d %-6s " % (i + 1, label) +
                  " ".join("%s=%s" % (k, ("%.1f" % (v * 1000)) if isinstance(v, float) and
                                      "cpu" not in k else v) for k, v in r.items()),
                  flush=True)

    load = os.getloadavg()
    print("\nmedian (min-max) over %d runs, ms unless a count; load %.1f %.1f %.1f at the end"
          % (args.runs, *load))
    keys = list(res[bins[0][0]][0])
    print("| | " + " | ".join(label for label, _ in bins) + " |")
    print("|---|" + "---|" * len(bins))
    for k in keys:
        cells = []
        for label, _ in bins:
            v = [r[k] for r in res[label]]
            scale = 1000 if isinstance(v[0], float) and "cpu" not in k else 1
            fmt = "%.0f" if scale == 1000 or isinstance(v[0], int) else "%.2f"
            cells.append((fmt + " (" + fmt + "-" + fmt + ")") % (
                statistics.median(v) * scale, min(v) * scale, max(v) * scale))
        print("| %s | %s |" % (k, " | ".join(cells)))


if __name__ == "__main__":
    main()
