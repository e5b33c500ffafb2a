#!/usr/bin/env python3
"""What one create costs kube-apiserver: CPU ms per item, JSON against protobuf.

Starts etcd and a kube-apiserver of tests/servers/harness.py (with
--profiling), and POSTs N ConfigMaps from a few threads of this script
(HTTP/1.1 keep-alive, the admin client certificate or the token-admin
bearer token), in each of the modes:

  json        Content-Type and Accept application/json (what velerofs sent
              before the protobuf switch)
  json-pbresp JSON body, Accept: application/vnd.kubernetes.protobuf
  pb          protobuf body and protobuf answer (the `k8s\\0` envelope,
              runtime.Unknown around a v1.ConfigMap, encoded here by hand)

For each mode: kube-apiserver's and etcd's CPU time over the run
(/proc/PID/stat) divided by N. --size tiny is the cheapest object there
is (a name and one data key); --size bench is a ConfigMap as
bench/restore_throughput.py makes them (0.5-4 KiB of properties, labels,
annotations). Modes run interleaved (--reps rounds of every mode, into a
fresh namespace each), so the API server's growing store weighs on all
alike.

--profile SECONDS --profile-mode MODE instead records a CPU profile of
kube-apiserver while MODE runs in a loop for SECONDS (writes
PREFIX.pb.gz and PREFIX.top.txt: `go tool pprof -top`, flat and cum):

    python3 bench/apiserver_cost.py --items 1000 --reps 3
    python3 bench/apiserver_cost.py --profile 30 --profile-mode json --out /tmp/x
    python3 bench/apiserver_cost.py --probe build/restore/restore-probe --profile 40 --out /tmp/x

With --probe, the profiled load is restore-probe restoring
bench/restore_throughput.py's mixed set (1,000 items per round) instead;
--probe without --profile measures the CPU per item of restore-probe
restoring --items ConfigMaps of --size (or the mixed set: --size mixed),
protobuf against JSON (VELEROFS_RESTORE_PROTOBUF=0) and HTTP/1.1 against
HTTP/2 (VELEROFS_KUBE_HTTP2=1), interleaved, each mode first in turn:

    python3 bench/apiserver_cost.py --probe build/restore/restore-probe --size tiny
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pathlib
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from servers.harness import Etcd, KubeApiserver, binary  # noqa: E402

PB_CT = "application/vnd.kubernetes.protobuf"


# ---- a hand-written protobuf encoder for v1.ConfigMap ---------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def strmap(field, m):
    return b"".join(ld(field, ld(1, k) + ld(2, v)) for k, v in sorted(m.items()))


def pb_configmap(obj):
    """k8s\\0 + runtime.Unknown{typeMeta{apiVersion, kind}, raw: v1.ConfigMap}.
    Only the fields a ConfigMap of this script has."""
    md = obj["metadata"]
    meta = ld(1, md["name"])
    if "namespace" in md:
        meta += ld(3, md["namespace"])
    meta += strmap(11, md.get("labels", {})) + strmap(12, md.get("annotations", {}))
    cm = ld(1, meta) + strmap(2, obj.get("data", {}))
    tm = ld(1, "v1") + ld(2, "ConfigMap")
    return b"k8s\x00" + ld(1, tm) + ld(2, cm) + ld(3, "") + ld(4, "")


# ---- the objects --------------------------------------------------------------

def configmaps(n, ns, size):
    if size == "tiny":
        return [{"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "c%d" % i, "namespace": ns}, "data": {"k": "v"}}
                for i in range(n)]
    import random
    import restore_throughput as rt
    rng = random.Random(7)
    return [rt.make_item("ConfigMap", ns, i, rng) for i in range(n)]


def cpu_seconds(pid):
    f = pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


class Client:
    def __init__(self, kube, auth):
        self.host, self.port = "127.0.0.1", kube.port
        self.ctx = ssl.create_default_context(cafile=str(kube.ca_file))
        self.headers = {}
        if auth == "cert":
            self.ctx.load_cert_chain(str(kube.client_cert), str(kube.client_key))
        else:
            self.headers["Authorization"] = "Bearer " + kube.tokens["token-admin"]

    def conn(self):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx)

    def post_all(self, objs, ns, mode, threads):
        """POSTs every object (threads connections); raises on any non-201."""
        path = "/api/v1/namespaces/%s/configmaps?fieldValidation=Ignore" % ns
        bodies = []
        for o in objs:
            if mode == "pb":
                bodies.append((pb_configmap(o), PB_CT, PB_CT))
            else:
                bodies.append((json.dumps(o).encode(), "application/json",
                               PB_CT + ", application/json" if mode == "json-pbresp"
                               else "application/json"))
        errors = []

        def work(part):
            c = self.conn()
            for body, ct, acc in part:
                h = dict(self.headers, **{"Content-Type": ct, "Accept": acc})
                c.request("POST", path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                if r.status != 201:
                    errors.append("%d %r" % (r.status, data[:300]))
                    return
            c.close()

        ts = [threading.Thread(target=work, args=(bodies[k::threads],)) for k in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            raise RuntimeError("%s: %s" % (mode, errors[0]))

    def make_ns(self, ns):
        c = self.conn()
        c.request("POST", "/api/v1/namespaces", body=json.dumps(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            headers=dict(self.headers, **{"Content-Type": "application/json"}))
        r = c.getresponse()
        r.read()
        if r.status != 201:
            raise RuntimeError("namespace %s: %d" % (ns, r.status))
        c.close()


def profile(kube, seconds, out):
    """GET /debug/pprof/profile?seconds=N with the admin certificate."""
    ctx = ssl.create_default_context(cafile=str(kube.ca_file))
    ctx.load_cert_chain(str(kube.client_cert), str(kube.client_key))
    c = http.client.HTTPSConnection("127.0.0.1", kube.port, context=ctx, timeout=seconds + 60)
    c.request("GET", "/debug/pprof/profile?seconds=%d" % seconds)
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError("pprof: %d %r" % (r.status, data[:200]))
    pathlib.Path(out + ".pb.gz").write_bytes(data)


def pprof_top(out, binary):
    go = shutil.which("go") or "/usr/local/go/bin/go"
    text = ""
    for extra in ([], ["-cum"]):
        r = subprocess.run([go, "tool", "pprof", "-top", "-nodecount=60", *extra, str(binary),
                            out + ".pb.gz"], capture_output=True, text=True)
        text += r.stdout + r.stderr + "\n"
    pathlib.Path(out + ".top.txt").write_text(text)
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--size", choices=["tiny", "bench", "mixed"], default="tiny",
                    help="ConfigMaps: tiny, or as the benchmark makes them; mixed: "
                    "bench/restore_throughput.py's set (--probe only)")
    ap.add_argument("--probe-modes", default="pb-h1,json-h1,pb-h2,json-h2",
                    help="--probe: restore-probe runs to compare: pb or json (protobuf "
                    "or VELEROFS_RESTORE_PROTOBUF=0), h1 or h2 (HTTP/1.1 or "
                    "VELEROFS_KUBE_HTTP2=1)")
    ap.add_argument("--auth", choices=["cert", "token"], default="cert")
    ap.add_argument("--modes", default="json,json-pbresp,pb")
    ap.add_argument("--profile", type=int, default=0, help="seconds of CPU profile")
    ap.add_argument("--profile-mode", default="json")
    ap.add_argument("--probe", help="restore-probe binary: profile a restore of the mixed set")
    ap.add_argument("--probe-env", default="", help="VAR=VALUE,... for restore-probe")
    ap.add_argument("--out", default="/tmp/apiserver-profile")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="velerofs-apicost-")
    srv = pathlib.Path(tmp.name)
    with tmp, Etcd(workdir=srv / "etcd") as etcd, \
            KubeApiserver(etcd, workdir=srv / "kube",
                          extra_args=["--profiling=true",
                                      "--service-cluster-ip-range=10.96.0.0/16"]) as kube:
        cl = Client(kube, args.auth)
        serial = [0]

        def measured(rep, m, res, run):
            """run() timed, with the CPU per item of the API server and etcd
            over it; appended to res[m] and printed."""
            a0, e0 = cpu_seconds(kube.proc.pid), cpu_seconds(etcd.proc.pid)
            t0 = time.monotonic()
            run()
            dt = time.monotonic() - t0
            a = 1000 * (cpu_seconds(kube.proc.pid) - a0) / args.items
            e = 1000 * (cpu_seconds(etcd.proc.pid) - e0) / args.items
            res[m].append((a, e))
            print("rep %d %-12s %6.2f s %7.1f items/s  CPU ms/item apiserver %.2f etcd %.2f"
                  "  load %.1f" % (rep + 1, m, dt, args.items / dt, a, e,
                                   os.getloadavg()[0]), flush=True)

        def fresh_ns():
            serial[0] += 1
            ns = "cost-%d" % serial[0]
            cl.make_ns(ns)
            return ns

        if args.profile:
            stop = threading.Event()
            count = [0]

            def load():
                if args.probe:
                    import restore_throughput as rt
                    base = rt.item_set(1000, 10)
                    env = dict(os.environ)
                    for kv in filter(None, args.probe_env.split(",")):
                        k, v = kv.split("=", 1)
                        env[k] = v
                    while not stop.is_set():
                        serial[0] += 1
                        items = rt.with_namespaces(base, "p%d-ns" % serial[0])
                        w = srv / ("probe%d" % serial[0])
                        w.mkdir()
                        f = rt.write_list(items, w / "all.json")
                        r = subprocess.run([args.probe, "--kubeconfig", str(kube.kubeconfig),
                                            "--state", str(w / "state"), str(f)],
                                           capture_output=True, text=True, env=env)
                        if "state done" not in r.stdout:
                            print(r.stdout[-2000:], r.stderr[-2000:], file=sys.stderr)
                            return
                        count[0] += len(items)
                else:
                    while not stop.is_set():
                        ns = fresh_ns()
                        cl.post_all(configmaps(args.items, ns, args.size), ns,
                                    args.profile_mode, args.threads)
                        count[0] += args.items

            t = threading.Thread(target=load)
            t.start()
            time.sleep(3)
            c0 = cpu_seconds(kube.proc.pid)
            n0 = count[0]
            profile(kube, args.profile, args.out)
            c1 = cpu_seconds(kube.proc.pid)
            stop.set()
            t.join()
            print("profiled %d s: apiserver CPU %.1f s, load %.1f; about %d items (rounds "
                  "finished in the window)" % (args.profile, c1 - c0, os.getloadavg()[0],
                                               count[0] - n0))
            print(pprof_top(args.out, binary("kube-apiserver")))
            return

        if args.probe:
            # the floor through the engine: restore-probe restoring N
            # ConfigMaps (--size) in one List file, protobuf (default)
            # against VELEROFS_RESTORE_PROTOBUF=0, interleaved
            modes = args.probe_modes.split(",")
            res = {m: [] for m in modes}
            for rep in range(args.reps):
                # each mode first in turn: the API server's cost per item
                # grows with what it holds
                order = modes[rep % len(modes):] + modes[:rep % len(modes)]
                for m in order:
                    ns = fresh_ns()
                    w = srv / ("cost-%s" % ns)
                    w.mkdir()
                    f = w / "all.json"
                    if args.size == "mixed":
                        import restore_throughput as rt
                        objs = rt.with_namespaces(rt.item_set(args.items, max(4, args.items // 100)),
                                                  ns + "-m")
                    else:
                        objs = configmaps(args.items, ns, args.size)
                    f.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
                    env = dict(os.environ)
                    env.pop("VELEROFS_RESTORE_PROTOBUF", None)
                    env.pop("VELEROFS_KUBE_HTTP2", None)
                    if "json" in m.split("-"):
                        env["VELEROFS_RESTORE_PROTOBUF"] = "0"
                    if "h2" in m.split("-"):
                        env["VELEROFS_KUBE_HTTP2"] = "1"

                    def run():
                        r = subprocess.run([args.probe, "--kubeconfig", str(kube.kubeconfig),
                                            "--state", str(w / "state"), str(f)],
                                           capture_output=True, text=True, env=env)
                        if "state done" not in r.stdout:
                            raise RuntimeError(r.stdout[-2000:] + r.stderr[-2000:])
                    measured(rep, m, res, run)
            import statistics
            print("\n%d %s items per run through restore-probe; median CPU ms per item"
                  % (args.items, args.size))
            for m in res:
                print("%-12s apiserver %.2f  etcd %.2f" % (
                    m, statistics.median(x for x, _ in res[m]),
                    statistics.median(x for _, x in res[m])))
            return

        modes = args.modes.split(",")
        res = {m: [] for m in modes}
        for rep in range(args.reps):
            for m in (modes if rep % 2 == 0 else modes[::-1]):
                ns = fresh_ns()
                objs = configmaps(args.items, ns, args.size)
                measured(rep, m, res, lambda: cl.post_all(objs, ns, m, args.threads))
        print("\n%d %s ConfigMaps per run, %d threads, auth %s; median CPU ms per item"
              % (args.items, args.size, args.threads, args.auth))
        import statistics
        base = statistics.median(a for a, _ in res[modes[0]])
        for m in modes:
            a = statistics.median(x for x, _ in res[m])
            e = statistics.median(x for _, x in res[m])
            print("%-12s apiserver %.2f (%.2fx of %s)  etcd %.2f" % (m, a, a / base, modes[0], e))


if __name__ == "__main__":
    main()
