"""Creates in protobuf (etcd/k8s_enc.c, sent by restore/apply.c) leave the API server holding what
the same restore in JSON does.

Every built-in manifest of tests/etcd_population.py (objects of every kind the test apiserver
serves and can create without controllers, many optional fields set) is restored with the engine
(tests/unit/restore_probe.c) twice, into two kube-apiservers on one etcd (two prefixes): once as it
restores by default (protobuf for built-in kinds) and once with VELEROFS_RESTORE_PROTOBUF=0 (JSON).
Each object is then read back from both (GET, JSON) and compared, minus what a server picks by
itself (uid, resourceVersion, creationTimestamp, the times in managedFields, the restore's own
label, a Service's allocated cluster IPs and node ports). The debug lines of the protobuf run
say which items went as JSON and why: only the known refusals may appear there.

Then errors: a refused create reads the same through a protobuf answer (a Status decoded with
etcd/'s tables) as through a JSON one."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess

import pytest

import etcd_population
import util
from servers.harness import Etcd, KubeApiserver


@pytest.fixture(scope="module")
def probe():
    b = util.build_dir() / "restore" / "restore-probe"
    if not b.is_file():
        pytest.fail("%s not built: run `ninja -C %s`" % (b, util.build_dir()))
    return b


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    d = tmp_path_factory.mktemp("pbservers")
    with Etcd(workdir=d / "etcd") as etcd, \
            KubeApiserver(etcd, workdir=d / "pb") as pb, \
            KubeApiserver(etcd, workdir=d / "json") as js:
        yield pb, js


def restore(probe, kube, state, f, json_only, check=0):
    env = dict(os.environ)
    env.pop("VELEROFS_RESTORE_PROTOBUF", None)
    if json_only:
        env["VELEROFS_RESTORE_PROTOBUF"] = "0"
    r = subprocess.run([str(probe), "--kubeconfig", str(kube.kubeconfig), "--state", str(state),
                        "--debug", "--backup", "pb-test", str(f)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert not util.SANITIZER_RE.search(r.stderr), r.stderr
    if check is not None:
        assert r.returncode == check, "exit %d\n%s\n%s" % (r.returncode, r.stdout, r.stderr)
    return r


SERVER_PICKED = [
    ("metadata", "uid"), ("metadata", "resourceVersion"), ("metadata", "creationTimestamp"),
    ("spec", "clusterIP"), ("spec", "clusterIPs"),
]
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def strings(v, out):
    if isinstance(v, dict):
        for x in v.values():
            strings(x, out)
    elif isinstance(v, list):
        for x in v:
            strings(x, out)
    elif isinstance(v, str):
        out.add(v)
    return out


def normalized(obj, doc):
    """obj without what each server picks by itself: its uid (and the strings holding it, a
    Job's selector), resourceVersion, times the manifest does not hold (so a time the restore
    sent still counts), allocated IPs and node ports, the fingerprint of the server's own admin
    certificate (a CSR's spec.extra), the restore's own label."""
    o = copy.deepcopy(obj)
    uid = obj.get("metadata", {}).get("uid")
    sent = strings(doc, set())
    for path in SERVER_PICKED:
        d = o
        for k in path[:-1]:
            d = d.get(k) if isinstance(d, dict) else None
        if isinstance(d, dict):
            d.pop(path[-1], None)
    md = o.get("metadata", {})
    md.get("labels", {}).pop("velero.io/restore-name", None)
    spec = o.get("spec") if isinstance(o.get("spec"), dict) else {}
    for p in spec.get("ports", []):
        if isinstance(p, dict):
            p.pop("nodePort", None)

    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, str):
            if uid and uid in v:
                return v.replace(uid, "<uid>")
            if TIME_RE.match(v) and v not in sent:
                return "<time>"
            if v.startswith("X509SHA256="):
                return "<admin certificate>"
        return v
    return walk(o)


def test_protobuf_restore_is_the_json_restore(probe, servers, tmp_path):
    pb, js = servers
    docs = etcd_population.builtin_manifests()
    f = tmp_path / "all.json"
    f.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    r_pb = restore(probe, pb, tmp_path / "state-pb", f, False, check=None)
    r_js = restore(probe, js, tmp_path / "state-js", f, True, check=None)
    # the same report, item for item (created, skipped, failed and why)
    def report(r):
        return sorted(ln for ln in r.stdout.splitlines()
                      if re.match(r"^(created|skipped|failed|unchanged)\b", ln))
    assert report(r_pb) == report(r_js)
    assert r_pb.returncode == r_js.returncode, r_pb.stdout
    # which creates went as JSON in the protobuf run, and why
    as_json = re.findall(r"sent as JSON: (.*)", r_pb.stderr)
    assert not [w for w in as_json if "a nested apiVersion or kind" not in w], as_json
    assert len(re.findall(r"sent as protobuf", r_pb.stderr)) >= 60, r_pb.stderr[-3000:]
    assert not re.findall(r"sent as (protobuf|JSON)", r_js.stderr)
    disc = etcd_population.discover(pb)
    kinds, compared, differ = set(), 0, []
    for doc in docs:
        group, _, version = doc["apiVersion"].rpartition("/")
        d = disc.get((group, doc["kind"]))
        if d is None or d[0] != version:
            continue
        o = etcd_population.Obj(group, version, d[1], doc["kind"],
                                doc["metadata"].get("namespace") if d[2] else None,
                                doc["metadata"]["name"])
        st_a, a = pb.request("GET", o.path())
        st_b, b = js.request("GET", o.path())
        assert st_a == st_b, (o, st_a, st_b)
        if st_a != 200:
            continue
        compared += 1
        kinds.add(o.gr)
        na, nb = normalized(a, doc), normalized(b, doc)
        if na != nb:
            diff = [k for k in set(na) | set(nb) if na.get(k) != nb.get(k)]
            differ.append((o.gr, o.name, diff, json.dumps({k: na.get(k) for k in diff})[:3000],
                           json.dumps({k: nb.get(k) for k in diff})[:3000]))
    assert not differ, "\n".join("%s %s %s\n  pb:   %s\n  json: %s" % d for d in differ[:5])
    # nearly every resource of the population is restored (Velero skips some kinds)
    assert len(kinds) >= 40, sorted(kinds)
    assert compared >= 60


def test_errors_read_the_same(probe, servers, tmp_path):
    """A create the server refuses (an invalid name, an invalid field value) reports the API
    server's message, protobuf answer or JSON."""
    pb, js = servers
    bad = [{"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "Not_A_Name", "namespace": "pb-errors"}, "data": {"k": "v"}},
           {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "bad-replicas", "namespace": "pb-errors"},
            "spec": {"replicas": -3, "selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "x"}]}}}}]
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": bad}))
    r_pb = restore(probe, pb, tmp_path / "state-pb", f, False, check=1)
    r_js = restore(probe, js, tmp_path / "state-js", f, True, check=1)
    failed = [ln for ln in r_pb.stdout.splitlines() if ln.startswith("failed")]
    assert len(failed) == 2, r_pb.stdout
    assert any("Not_A_Name" in ln and "RFC 1123" in ln for ln in failed), failed
    assert any("spec.replicas" in ln and "greater than or equal to 0" in ln
               for ln in failed), failed
    assert failed == [ln for ln in r_js.stdout.splitlines() if ln.startswith("failed")]
