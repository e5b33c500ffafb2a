#!/usr/bin/env python3
"""Restore timeline: where the time of one restore goes.

Starts etcd and a kube-apiserver (tests/servers/harness.py, as
bench/restore_throughput.py does), generates its mixed set of N items and
restores it once with restore-probe (one List file, the engine alone) and
once through a mount (`cp -r` of the directory of one file per item into
MNT/restore/), with the engine's debug log on. Prints the timeline lines
of the engine (restore/apply.c run_log(), restore/job.c: sealing, sync,
CRDs, namespaces, stages), each as ms since the command started (the
engine logs CLOCK_MONOTONIC, Python's time.monotonic()).

    python3 bench/restore_timeline.py --build build --items 1000
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from servers.harness import Etcd, KubeApiserver  # noqa: E402
import util  # noqa: E402
import restore_throughput as rt  # noqa: E402

T_RE = re.compile(r"restore job (\S+): t=(\d+) (.*)$")
NS_RE = re.compile(r"namespace \S+: (created|looked up) in (\d+) ms")


def timeline(lines, t0, label):
    """Prints the engine's t= lines relative to t0 (monotonic s); the
    namespace lines summed up."""
    ns = []
    print("\n== %s" % label)
    for ln in lines:
        m = T_RE.search(ln)
        if not m:
            continue
        t = int(m.group(2)) / 1000.0 - t0
        msg = m.group(3)
        n = NS_RE.match(msg)
        if n:
            ns.append((t, int(n.group(2))))
            continue
        print("%8.0f ms  %s" % (1000 * t, msg))
    if ns:
        print("%8s     namespaces: %d made, first at %.0f ms, last done at %.0f ms, "
              "%d-%d ms each" % ("", len(ns), 1000 * min(t for t, _ in ns),
                                 1000 * max(t for t, _ in ns),
                                 min(d for _, d in ns), max(d for _, d in ns)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--build", default=os.environ.get("VELEROFS_BUILD") or str(REPO / "build"))
    ap.add_argument("--tools", default="probe,mount-dir")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--log-dir", help="keep each run's whole debug log here")
    args = ap.parse_args()
    build = pathlib.Path(args.build).resolve()
    n_ns = max(4, args.items // 100)
    base = rt.item_set(args.items, n_ns)
    tmpdir = tempfile.TemporaryDirectory(prefix="velerofs-timeline-")
    with tmpdir as tmp, \
            Etcd(workdir=pathlib.Path(tmp) / "servers" / "etcd") as etcd, \
            KubeApiserver(etcd, workdir=pathlib.Path(tmp) / "servers" / "kube", extra_args=[
                "--service-cluster-ip-range=10.96.0.0/16"]) as kube:
        tmp = pathlib.Path(tmp)
        serial = 0
        for rep in range(args.reps):
            for tool in args.tools.split(","):
                serial += 1
                prefix = "t%d" % serial
                items = rt.with_namespaces(base, prefix + "-ns")
                work = tmp / prefix
                work.mkdir()
                if tool == "probe":
                    f = rt.write_list(items, work / "all.json")
                    argv = [str(build / "restore" / "restore-probe"), "--debug",
                            "--kubeconfig", str(kube.kubeconfig), "--state",
                            str(work / "state"), str(f)]
                    t0 = time.monotonic()
                    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
                    dt = time.monotonic() - t0
                    if r.returncode != 0:
                        raise SystemExit(r.stdout[-2000:] + r.stderr[-2000:])
                    if args.log_dir:
                        pathlib.Path(args.log_dir, prefix + "-probe.log").write_text(r.stderr)
                    timeline(r.stderr.splitlines(), t0,
                             "restore-probe, one List file: %.0f ms" % (1000 * dt))
                elif tool == "mount-dir":
                    src = rt.write_dir(items, work / prefix)
                    log = work / "velerofs.log"
                    m = util.Mount(build / "velerofs", str(util.SHOP_VAULT), work / "mnt",
                                   work / "cache", json_view=True, stderr_dir=work,
                                   args=["--kubeconfig", str(kube.kubeconfig),
                                         "--restore-state", str(work / "state"),
                                         "--log-level", "debug", "--log-file", str(log)])
                    m.start()
                    try:
                        mr = rt.MountRun.__new__(rt.MountRun)
                        mr.m = m
                        t0 = time.monotonic()
                        t_cp, dt = mr.copy(src, len(items))
                    finally:
                        m.stop()
                    if args.log_dir:
                        pathlib.Path(args.log_dir, prefix + "-mount.log").write_text(
                            log.read_text(errors="replace"))
                    timeline(log.read_text(errors="replace").splitlines(), t0,
                             "mount, cp -r of %d files: cp returned at %.0f ms, "
                             "all done at %.0f ms" % (len(items), 1000 * t_cp, 1000 * dt))
                    print("%8.0f ms  cp returned" % (1000 * t_cp))
                else:
                    raise SystemExit("unknown tool " + tool)


if __name__ == "__main__":
    main()
