#!/usr/bin/env python3
"""Restore throughput: velerofs against `kubectl apply`, same files, same run.

Starts etcd and a kube-apiserver (tests/servers/harness.py), generates N
mixed items (ConfigMaps, Secrets, Services, Deployments, ServiceAccounts,
Roles, RoleBindings, a CustomResourceDefinition and its custom resources,
and the Namespaces they live in, spread over several namespaces, with
realistic sizes) as plain manifests, and restores the same
set several times, each time into fresh namespaces, with:

  probe      build/restore/restore-probe with one file holding every item
             (one job: the engine alone, no FUSE)
  mount-1    a real mount (velerofs mount -f --kubeconfig ... shop-vault),
             the same single file copied into MNT/restore/
  mount-dir  the same mount, `cp -r` of the directory of one file per item
             into MNT/restore/ (files closed together are gathered into
             one job, so a few jobs)
  kubectl    kubectl apply -R -f DIR (the directory of one file per item,
             client-side apply: kubectl's default), done as a user who
             knows kubectl maps every file before it applies any (the
             custom resources of a CRD it creates in the same run fail,
             "ensure CRDs are installed first"): `kubectl apply -R -f
             DIR/00-crds`, `kubectl wait --for condition=established` on
             the CRD, then `kubectl apply -R -f` of the rest; the time is
             the three commands'
  kubectl-create
             the same with kubectl create
  probe-json, mount-1-json, mount-dir-json
             the same as probe, mount-1, mount-dir with
             VELEROFS_RESTORE_PROTOBUF=0: every create sent and answered
             in JSON (by default built-in kinds go as protobuf)
  probe-h2, mount-dir-h2, mount-dir-json-h2, ...
             with VELEROFS_KUBE_HTTP2=1: over HTTP/2 (by default the
             client speaks HTTP/1.1 to the API server);
             mount-dir-json-h2 is how velerofs restored before both

Every run is checked afterwards: all N objects must be in the API server.
Time runs from the command's start to the last item applied (for a mount:
until restore/status shows every job finished); the mount's start is not
counted. Prints items/s per run, the median per tool, and each tool's
ratio to kubectl apply; with each, the CPU the API server, etcd and the
client used (as cores busy over the run, and as CPU ms per item: the
latter does not depend on what else the machine runs). The servers are
etcd and kube-apiserver of tests/servers/harness.py, fresh for the
invocation, their state under the invocation's temporary directory.

    python3 bench/restore_throughput.py                       # 1,000 items, 3 reps, every tool
    python3 bench/restore_throughput.py --items 10000 --reps 1
    python3 bench/restore_throughput.py --baseline build-seq  # also another build

--build (default $VELEROFS_BUILD or build/) names the build under test;
--baseline another build (e.g. one of the sequential engine) run the same
way in the same run, labelled with --baseline-name.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pathlib
import random
import resource
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from servers.harness import Etcd, KubeApiserver, binary  # noqa: E402
import util  # noqa: E402

FINAL_RE = re.compile(r"^(\S+)\s+(done|failed|rejected)\s+(\d+):", re.M)
RUNNING_RE = re.compile(r"^restore-\S+\s+(running|waiting|done|failed)\s", re.M)
JOB_RE = re.compile(r"^(restore-\S+)\s+(\w+)\s", re.M)

# share of each kind among the non-Namespace items
MIX = [
    ("ConfigMap", 0.20),
    ("Secret", 0.20),
    ("Service", 0.15),
    ("Deployment", 0.15),
    ("ServiceAccount", 0.10),
    ("Role", 0.075),
    ("RoleBinding", 0.075),
    ("Widget", 0.05),  # custom resources of the run's own CRD
]

# the CRD's group, one per run (a CRD is cluster-scoped and each run
# restores into fresh namespaces): with_namespaces() replaces it
GROUP = "@grp.bench.example.com"

PLURAL = {
    "ConfigMap": ("/api/v1", "configmaps"),
    "Secret": ("/api/v1", "secrets"),
    "Service": ("/api/v1", "services"),
    "Deployment": ("/apis/apps/v1", "deployments"),
    "ServiceAccount": ("/api/v1", "serviceaccounts"),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles"),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings"),
}


# ---- the items ----------------------------------------------------------------

def words(rng, n):
    vocab = ("alpha beta gamma delta shop cart web api worker cache queue "
             "orders payments users search index timeout retries enabled "
             "region zone replica primary secondary").split()
    return " ".join(rng.choice(vocab) for _ in range(n))


def meta(name, ns, app, rng):
    return {
        "name": name, "namespace": ns,
        "labels": {"app": app, "tier": rng.choice(["frontend", "backend", "data"]),
                   "app.kubernetes.io/part-of": "shop"},
        "annotations": {"team": "shop", "owner": "platform@example.com"},
    }


def make_item(kind, ns, idx, rng):
    app = "app-%02d" % (idx % 40)
    name = "b-%s-%05d" % (kind.lower(), idx)
    m = meta(name, ns, app, rng)
    if kind == "ConfigMap":
        # 0.5-4 KiB of config, as application settings are
        data = {"application.properties": "\n".join(
            "%s.%s=%s" % (app, "key%d" % k, words(rng, 6)) for k in range(rng.randint(8, 60)))}
        data["LOG_LEVEL"] = rng.choice(["info", "debug", "warn"])
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": data}
    if kind == "Secret":
        data = {k: base64.b64encode(os.urandom(rng.randint(16, 700))).decode()
                for k in ("username", "password", "tls.key")[:rng.randint(1, 3)]}
        return {"apiVersion": "v1", "kind": "Secret", "metadata": m, "type": "Opaque",
                "data": data}
    if kind == "Service":
        return {"apiVersion": "v1", "kind": "Service", "metadata": m, "spec": {
            "type": "ClusterIP", "selector": {"app": app},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                      {"name": "metrics", "port": 9090, "targetPort": 9090,
                       "protocol": "TCP"}]}}
    if kind == "Deployment":
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": m, "spec": {
            "replicas": rng.randint(1, 5),
            "selector": {"matchLabels": {"app": app, "d": name}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": app, "d": name},
                             "annotations": {"prometheus.io/scrape": "true"}},
                "spec": {
                    "serviceAccountName": "default",
                    "containers": [{
                        "name": "main",
                        "image": "registry.example.com/shop/%s:1.%d.%d" % (app, idx % 9, idx % 17),
                        "args": ["--port=8080", "--log-level=info"],
                        "ports": [{"containerPort": 8080, "name": "http"},
                                  {"containerPort": 9090, "name": "metrics"}],
                        "env": [{"name": "ENV_%d" % k, "value": words(rng, 3)}
                                for k in range(rng.randint(3, 12))],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                      "limits": {"cpu": "1", "memory": "512Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                           "periodSeconds": 10},
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
                    }],
                    "volumes": [{"name": "config", "configMap": {"name": "b-configmap-00000"}}],
                }}}}
    if kind == "ServiceAccount":
        return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": m}
    if kind == "Role":
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": m,
                "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"],
                           "verbs": ["get", "list", "watch"]},
                          {"apiGroups": ["apps"], "resources": ["deployments"],
                           "verbs": ["get", "list"]}]}
    if kind == "RoleBinding":
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": m,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                            "name": "b-role-%05d" % idx},
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]}
    if kind == "Widget":
        return {"apiVersion": GROUP + "/v1", "kind": "Widget", "metadata": m,
                "spec": {"size": rng.randint(1, 9), "color": rng.choice(["red", "blue"]),
                         "notes": words(rng, 20)}}
    raise ValueError(kind)


def widget_crd():
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets." + GROUP},
            "spec": {"group": GROUP, "scope": "Namespaced",
                     "names": {"kind": "Widget", "plural": "widgets", "singular": "widget",
                               "listKind": "WidgetList"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}]}}


def item_set(n, n_ns, seed=1):
    """n objects in all: n_ns Namespaces and n - n_ns others, with ns
    placeholders "@k" filled in per run. Deterministic."""
    rng = random.Random(seed)
    rest = n - n_ns - 1  # and the CRD
    kinds = []
    for kind, share in MIX:
        kinds += [kind] * int(round(rest * share))
    kinds = (kinds + [MIX[0][0]] * rest)[:rest]
    rng.shuffle(kinds)
    items = [{"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": "@%d" % k, "labels": {"purpose": "bench"}}}
             for k in range(n_ns)]
    items.append(widget_crd())
    for idx, kind in enumerate(kinds):
        items.append(make_item(kind, "@%d" % (idx % n_ns), idx, rng))
    return items


def with_namespaces(items, prefix):
    out = json.loads(json.dumps(items).replace("@grp", prefix))
    for o in out:
        md = o["metadata"]
        if o["kind"] == "CustomResourceDefinition":
            continue
        if o["kind"] == "Namespace":
            md["name"] = prefix + md["name"][1:]
        else:
            md["namespace"] = prefix + md["namespace"][1:]
        for s in o.get("subjects", []):
            s["namespace"] = prefix + s["namespace"][1:]
    return out


def write_dir(items, d):
    """One file per item; Namespaces in 00-namespaces/ and the CRD in
    00-crds/ (kubectl walks the tree in lexical order), the rest under
    <ns>/."""
    d.mkdir(parents=True)
    (d / "00-namespaces").mkdir()
    (d / "00-crds").mkdir()
    for o in items:
        md = o["metadata"]
        if o["kind"] == "Namespace":
            p = d / "00-namespaces" / (md["name"] + ".json")
        elif o["kind"] == "CustomResourceDefinition":
            p = d / "00-crds" / (md["name"] + ".json")
        else:
            sub = d / md["namespace"]
            sub.mkdir(exist_ok=True)
            p = sub / ("%s-%s.json" % (o["kind"].lower(), md["name"]))
        p.write_text(json.dumps(o, indent=2))
    return d


def write_list(items, p):
    p.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return p


# ---- checks -------------------------------------------------------------------

def count_present(kube, items):
    """How many of items the API server holds."""
    have = set()
    nss = sorted({o["metadata"]["name"] for o in items if o["kind"] == "Namespace"})
    st, body = kube.request("GET", "/api/v1/namespaces")
    names = {i["metadata"]["name"] for i in body["items"]} if st == 200 else set()
    have.update(("Namespace", "", n) for n in nss if n in names)
    plural = dict(PLURAL)
    for o in items:
        if o["kind"] == "CustomResourceDefinition":
            name = o["metadata"]["name"]
            st, _ = kube.request(
                "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name)
            if st == 200:
                have.add(("CustomResourceDefinition", "", name))
            plural["Widget"] = ("/apis/%s/v1" % o["spec"]["group"], "widgets")
    for kind, (base, plural) in plural.items():
        for ns in nss:
            st, body = kube.request("GET", "%s/namespaces/%s/%s" % (base, ns, plural))
            if st == 200:
                have.update((kind, ns, i["metadata"]["name"]) for i in body["items"])
    want = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
            for o in items}
    return len(want & have)


# ---- the tools ----------------------------------------------------------------

def cpu_seconds(pid):
    """utime + stime of a live process, in seconds (0 when it is gone)."""
    try:
        f = pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class CpuMeter:
    """CPU seconds of the API server, etcd and the client over one run."""

    def __init__(self, kube, etcd, client_pid=None):
        self.pids = {"apiserver": kube.proc.pid, "etcd": etcd.proc.pid}
        if client_pid:
            self.pids["client"] = client_pid
        self.t0 = {k: cpu_seconds(p) for k, p in self.pids.items()}
        self.c0 = children_cpu()

    def stop(self):
        out = {k: cpu_seconds(p) - self.t0[k] for k, p in self.pids.items()}
        if "client" not in out:
            out["client"] = children_cpu() - self.c0
        return out


def kubectl_argv(kube, *args):
    return [str(binary("kubectl")), "--kubeconfig=%s" % kube.kubeconfig,
            "--context=admin", *args]


def run_kubectl(kube, items, work, verb):
    """kubectl VERB of the directory, done as a user who knows the CRD must
    be there first does it: `kubectl VERB -R -f DIR/00-crds`, `kubectl wait
    --for condition=established` on it, then `kubectl VERB -R -f` of the
    rest (namespaces first: kubectl walks lexically). The time is the three
    commands'. verb: "apply" (client-side, kubectl's default) or
    "create"."""
    d = write_dir(items, work / "dir")
    env = {**os.environ, "HOME": str(work)}
    crds = [o["metadata"]["name"] for o in items if o["kind"] == "CustomResourceDefinition"]
    rest = sorted(p for p in d.iterdir() if p.name != "00-crds")
    steps = [kubectl_argv(kube, verb, "-R", "-f", str(d / "00-crds"))]
    steps.append(kubectl_argv(kube, "wait", "--for", "condition=established",
                              "--timeout=120s", *("crd/" + c for c in crds)))
    steps.append(kubectl_argv(kube, verb, "-R", *[a for p in rest for a in ("-f", str(p))]))
    t0 = time.monotonic()
    times = []
    for argv in steps:
        t = time.monotonic()
        r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=3600)
        times.append(time.monotonic() - t)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv[3:5]), r.stderr[-2000:]))
    dt = time.monotonic() - t0
    note = "  (CRD %.2f s, wait %.2f s, the rest %.2f s)" % tuple(times)
    return dt, note


def run_probe(build, kube, items, work):
    f = write_list(items, work / "all.json")
    argv = [str(build / "restore" / "restore-probe"), "--kubeconfig", str(kube.kubeconfig),
            "--state", str(work / "state"), str(f)]
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    dt = time.monotonic() - t0
    if r.returncode != 0 or "state done" not in r.stdout:
        raise RuntimeError("restore-probe exit %d:\n%s\n%s"
                           % (r.returncode, r.stdout[-3000:], r.stderr[-2000:]))
    return dt


def read_status(mnt):
    fd = os.open(mnt / "restore" / "status", os.O_RDONLY)
    try:
        out = b""
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                return out.decode(errors="replace")
            out += b
    finally:
        os.close(fd)


class MountRun:
    """A velerofs mount of shop-vault restoring into kube."""

    def __init__(self, build, kube, work):
        self.m = util.Mount(build / "velerofs", str(util.SHOP_VAULT), work / "mnt",
                            work / "cache", json_view=True, stderr_dir=work,
                            args=["--kubeconfig", str(kube.kubeconfig),
                                  "--restore-state", str(work / "state")])
        self.m.start()

    def close(self):
        self.m.stop()
        bad = self.m.problems()
        if bad:
            print("velerofs wrote to stderr:\n" + "\n".join(bad[:10]), file=sys.stderr)

    def wait_jobs(self, n, timeout=3600):
        """Until restore/status shows every job finished, all done, holding
        n items in all. Polled every 50 ms: each read formats the whole
        table under the engine's lock."""
        deadline = time.monotonic() + timeout
        while True:
            text = read_status(self.m.path)
            if self.t_running is None and RUNNING_RE.search(text):
                self.t_running = time.monotonic()
            done = FINAL_RE.findall(text)
            if (sum(int(k) for _, _, k in done) >= n and
                    len(done) == len(JOB_RE.findall(text))):
                bad = [j for j, s, _ in done if s != "done"]
                if bad:
                    report = (self.m.path / "restore" / "jobs" / (bad[0] + ".txt")).read_text()
                    lines = [ln for ln in report.splitlines() if ln.startswith("failed")]
                    raise RuntimeError("jobs not done: %s\n%s" % (bad[:5], "\n".join(lines[:20])))
                return
            if time.monotonic() > deadline:
                raise RuntimeError("mount: %d of %d items in finished jobs"
                                   % (sum(int(k) for _, _, k in done), n))
            time.sleep(0.05)

    def copy(self, src, n_items):
        """cp -r src into restore/; returns (seconds until cp returned,
        seconds until every job finished). self.running: seconds until
        restore/status first showed a job past gathering (running or
        finished; polled every 50 ms from cp's return)."""
        self.t_running = None
        t0 = time.monotonic()
        r = subprocess.run(["cp", "-r", str(src), str(self.m.path / "restore") + "/"],
                           capture_output=True, text=True, timeout=3600)
        if r.returncode != 0:
            raise RuntimeError("cp: %s" % r.stderr[-2000:])
        t_cp = time.monotonic() - t0
        self.wait_jobs(n_items)
        jobs = len(JOB_RE.findall(read_status(self.m.path)))
        self.jobs = jobs
        self.running = (self.t_running or time.monotonic()) - t0
        return t_cp, time.monotonic() - t0


KUBECTL = {"kubectl": "kubectl apply -R -f DIR",
           "kubectl-create": "kubectl create -R -f DIR"}


# ---- main ---------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--namespaces", type=int, default=0,
                    help="default: one per 100 items, at least 4")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--build", default=os.environ.get("VELEROFS_BUILD") or str(REPO / "build"))
    ap.add_argument("--baseline", help="another build dir, run the same way")
    ap.add_argument("--baseline-name", default="sequential")
    ap.add_argument("--name", default="velerofs")
    ap.add_argument("--tools", default="probe,mount-1,mount-dir,kubectl,kubectl-create",
                    help="comma-separated subset of probe,mount-1,mount-dir,kubectl "
                    "(kubectl apply), kubectl-create, and each velerofs tool with -json "
                    "(protobuf off) and/or -h2 (HTTP/2) appended")
    args = ap.parse_args()

    n_ns = args.namespaces or max(4, args.items // 100)
    tools = args.tools.split(",")
    builds = [(args.name, pathlib.Path(args.build).resolve())]
    if args.baseline:
        builds.append((args.baseline_name, pathlib.Path(args.baseline).resolve()))
    base_items = item_set(args.items, n_ns)
    size = sum(len(json.dumps(o)) for o in base_items)
    print("%d items (%d namespaces, %s), %.0f KiB of JSON, %d reps"
          % (args.items, n_ns, ", ".join("%d %s" % (sum(o["kind"] == k for o in base_items), k)
                                          for k in ["Namespace", "CustomResourceDefinition"]
                                          + [k for k, _ in MIX]),
             size / 1024, args.reps), flush=True)

    results: dict[str, list[float]] = {}
    cpu: dict[str, list[dict]] = {}
    cpu_ms: dict[str, list[dict]] = {}
    tmpdir = tempfile.TemporaryDirectory(prefix="velerofs-bench-")
    srv = pathlib.Path(tmpdir.name) / "servers"
    with tmpdir as tmp, \
            Etcd(workdir=srv / "etcd") as etcd, \
            KubeApiserver(etcd, workdir=srv / "kube", extra_args=[
                # every run adds Services in fresh namespaces and nothing
                # deletes them (no controllers): the harness's /24 fills up
                "--service-cluster-ip-range=10.96.0.0/16"]) as kube:
        tmp = pathlib.Path(tmp)
        serial = 0
        for rep in range(args.reps):
            plan = []
            for t in tools:
                if t in KUBECTL:
                    plan.append((KUBECTL[t], t, None))
                else:
                    for name, b in builds:
                        plan.append(("%s %s" % (name, t), t, (name, b)))
            random.Random(rep).shuffle(plan)  # no tool always goes first
            for label, tool, bb in plan:
                serial += 1
                prefix = "r%d-%d" % (rep, serial)
                items = with_namespaces(base_items, prefix + "-ns")
                work = tmp / prefix
                work.mkdir()
                note = ""
                # -h2, -json: the same tool over HTTP/2, with protobuf
                # turned off (variables inherited by restore-probe and
                # the mount)
                os.environ.pop("VELEROFS_RESTORE_PROTOBUF", None)
                os.environ.pop("VELEROFS_KUBE_HTTP2", None)
                if tool.endswith("-h2"):
                    os.environ["VELEROFS_KUBE_HTTP2"] = "1"
                    tool = tool[:-len("-h2")]
                if tool.endswith("-json"):
                    os.environ["VELEROFS_RESTORE_PROTOBUF"] = "0"
                    tool = tool[:-len("-json")]
                if tool in KUBECTL:
                    meter = CpuMeter(kube, etcd)
                    dt, note = run_kubectl(kube, items, work, tool.split("-")[-1]
                                           if "-" in tool else "apply")
                    used = meter.stop()
                elif tool == "probe":
                    meter = CpuMeter(kube, etcd)
                    dt = run_probe(bb[1], kube, items, work)
                    used = meter.stop()
                elif tool in ("mount-1", "mount-dir"):
                    # a fresh mount and state directory per run (its
                    # start is not timed): restore/status then lists this
                    # run's jobs only
                    if tool == "mount-1":
                        src = write_list(items, work / (prefix + ".json"))
                    else:
                        src = write_dir(items, work / prefix)
                    m = MountRun(bb[1], kube, work)
                    try:
                        meter = CpuMeter(kube, etcd, m.m.proc.pid)
                        t_cp, dt = m.copy(src, len(items))
                        used = meter.stop()
                    finally:
                        m.close()
                    note = "  (cp returned after %.2f s, running after %.2f s; %d job%s)" % (
                        t_cp, m.running, m.jobs, "" if m.jobs == 1 else "s")
                else:
                    raise SystemExit("unknown tool %s" % tool)
                got = count_present(kube, items)
                if got != len(items):
                    raise RuntimeError("%s: %d of %d items in the API server"
                                       % (label, got, len(items)))
                rate = len(items) / dt
                results.setdefault(label, []).append(rate)
                per_item = {k: 1000 * v / len(items) for k, v in used.items()}
                used = {k: v / dt for k, v in used.items()}  # cores busy
                cpu.setdefault(label, []).append(used)
                cpu_ms.setdefault(label, []).append(per_item)
                print("rep %d  %-28s %7.2f s %7.1f items/s  cores: apiserver %.2f etcd %.2f "
                      "client %.2f  CPU ms/item: apiserver %.2f etcd %.2f client %.2f  load %.1f%s"
                      % (rep + 1, label, dt, rate, used["apiserver"], used["etcd"],
                         used["client"], per_item["apiserver"], per_item["etcd"],
                         per_item["client"], os.getloadavg()[0], note), flush=True)

    ref_label = KUBECTL["kubectl"]
    ref = statistics.median(results[ref_label]) if ref_label in results else None
    print("\n%d items, median of %d reps; cores: CPU seconds per second of the run; "
          "ms/item: CPU ms per item (apiserver, etcd, client)" % (args.items, args.reps))
    print("%-28s %8s %8s %8s %9s %6s %6s %6s %16s" % (
        "tool", "median/s", "min/s", "max/s", "x kubectl", "api", "etcd", "client",
        "ms/item a/e/c"))
    for label, rates in results.items():
        med = statistics.median(rates)
        c = {k: statistics.median(u[k] for u in cpu[label]) for k in cpu[label][0]}
        ms = {k: statistics.median(u[k] for u in cpu_ms[label]) for k in cpu_ms[label][0]}
        print("%-28s %8.1f %8.1f %8.1f %9s %6.2f %6.2f %6.2f %16s" % (
            label, med, min(rates), max(rates), "%.2f" % (med / ref) if ref else "-",
            c["apiserver"], c["etcd"], c["client"],
            "%.2f/%.2f/%.2f" % (ms["apiserver"], ms["etcd"], ms["client"])))


if __name__ == "__main__":
    main()
