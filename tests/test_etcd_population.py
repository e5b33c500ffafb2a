"""The etcd-snapshot test cluster itself (tests/etcd_population.py, harness encryption): every
creatable built-in kind is created, every served creatable kind is covered or said to be unstored,
and the etcd holds values of all three local providers, with current and older keys."""

import base64
import json
import urllib.request

import pytest

import etcd_population


def etcd_values(etcd, prefix: str) -> dict[str, bytes]:
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    body = json.dumps({"key": base64.b64encode(prefix.encode()).decode(),
                       "range_end": base64.b64encode(end.encode()).decode()}).encode()
    req = urllib.request.Request(etcd.url + "/v3/kv/range", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        kvs = json.load(r).get("kvs", [])
    return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]) for kv in kvs}


def test_population_covers_every_creatable_kind(populated_kube):
    kube, pop = populated_kube
    assert pop.failed == []
    assert pop.not_covered == {}
    grs = {o.gr for o in pop.created}
    for gr in ("pods", "services", "secrets", "configmaps", "deployments.apps", "cronjobs.batch",
               "horizontalpodautoscalers.autoscaling", "customresourcedefinitions.apiextensions.k8s.io",
               "prometheuses.monitoring.coreos.com", "applications.argoproj.io",
               "certificates.cert-manager.io", "validatingadmissionpolicies.admissionregistration.k8s.io",
               "deviceclasses.resource.k8s.io", "certificatesigningrequests.certificates.k8s.io"):
        assert gr in grs
    # every object is readable back
    for o in pop.created:
        st, body = kube.request("GET", o.path())
        assert st == 200, (o, body)
    # statuses as controllers and kubelets write them
    for api_version, ns, resource, name, status in etcd_population.statuses():
        group, _, version = api_version.rpartition("/")
        o = etcd_population.Obj(group, version, resource, "", ns, name)
        st, body = kube.request("GET", o.path())
        assert st == 200, (o, body)
        for k in status:
            assert k in (body.get("status") or {}), (o.path(), k, body.get("status"))
    st, csr = kube.request("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/jane")
    assert csr["status"]["conditions"][0]["type"] == "Approved" and csr["status"]["certificate"]
    st, pod = kube.request("GET", "/api/v1/namespaces/etcd-pop/pods/web-0")
    assert pod["spec"]["ephemeralContainers"][0]["targetContainerName"] == "web"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
    st, ns2 = kube.request("GET", "/api/v1/namespaces/etcd-pop-2")
    assert ns2["status"]["phase"] == "Terminating" and ns2["metadata"]["deletionTimestamp"]
    st, held = kube.request("GET", "/api/v1/namespaces/etcd-pop/configmaps/immutable-config")
    assert held["metadata"]["deletionTimestamp"] and held["metadata"]["finalizers"]
    st, dep = kube.request("GET", "/apis/apps/v1/namespaces/etcd-pop/deployments/web")
    assert {m["operation"] for m in dep["metadata"]["managedFields"]} >= {"Apply", "Update"}
    # big values (bbolt overflow pages), encrypted
    st, cm = kube.request("GET", "/api/v1/namespaces/etcd-pop/configmaps/big")
    assert sum(len(v) for v in cm["data"].values()) > 600_000


def test_population_encrypts_with_all_three_providers(populated_kube):
    kube, pop = populated_kube
    vals = etcd_values(kube.etcd, "/registry/")
    prefixes = {}
    for k, v in vals.items():
        if v.startswith(b"k8s:enc:"):
            name = v[:v.index(b":", v.index(b":v1:") + 4) + 1].decode()
            prefixes.setdefault(name, []).append(k)
    assert set(prefixes) >= {
        "k8s:enc:aescbc:v1:cbc-key-2026:", "k8s:enc:aesgcm:v1:gcm-key-2026:",
        "k8s:enc:aesgcm:v1:gcm-key-old:", "k8s:enc:secretbox:v1:box-key-2026:",
        "k8s:enc:secretbox:v1:box-key-old:"}, sorted(prefixes)
    # Secrets: aescbc before the rotation, aesgcm after it
    assert vals["/registry/secrets/etcd-pop/opaque"].startswith(b"k8s:enc:aescbc:v1:cbc-key-2026:")
    assert vals["/registry/secrets/etcd-pop/after-rotation"].startswith(b"k8s:enc:aesgcm:v1:gcm-key-old:")
    assert vals["/registry/crypt.velerofs.test/widgets/etcd-pop/w1"].startswith(
        b"k8s:enc:secretbox:v1:box-key-2026:")
    # the rest is stored in the clear: protobuf for built-ins, JSON for custom resources
    assert vals["/registry/pods/etcd-pop/web-0"].startswith(b"k8s\x00")
    assert vals["/registry/monitoring.coreos.com/prometheuses/etcd-pop/k8s"].startswith(b"{")
    # the configuration the snapshot tests pass to velerofs
    cfg = json.loads(kube.encryption_file.read_text())
    assert cfg["kind"] == "EncryptionConfiguration"


def _gr_of(key: str) -> str:
    """The resource an etcd key of the populated cluster holds (enough for the encrypted ones)."""
    parts = key.split("/")
    if parts[2] == "deployments":
        return "deployments.apps"
    if "." in parts[2]:  # a custom resource: /registry/<group>/<resource>/...
        return f"{parts[3]}.{parts[2]}"
    return parts[2]


def test_every_encrypted_value_decrypts(populated_kube, tmp_path):
    """etcd/crypt.c (through etcd-crypt-probe) against every encrypted value of the populated
    cluster's etcd, with the configuration the apiserver ran with: all decrypt, with the
    resource and without; the plaintext is what the apiserver serves (custom resources: the same
    JSON; built-in kinds: protobuf holding the object's name and uid)."""
    import subprocess

    import util
    kube, pop = populated_kube
    probe = util.build_dir() / "etcd" / "etcd-crypt-probe"
    if not probe.exists():
        pytest.fail(f"{probe} not built: run `meson setup build && ninja -C build` (or set VELEROFS_BUILD)")
    vals = {k: v for k, v in etcd_values(kube.etcd, "/registry/").items() if v.startswith(b"k8s:enc:")}
    assert len(vals) >= 20
    lines = []
    for k, v in sorted(vals.items()):
        b = base64.b64encode(v).decode()
        lines += [f"{k}\t{_gr_of(k)}\t{b}", f"{k}\t-\t{b}"]
    r = subprocess.run([str(probe), str(kube.encryption_file)], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, check=True)
    out = [ln.split("\t") for ln in r.stdout.splitlines()]
    assert len(out) == len(lines)
    bad = [o for o in out if o[1] != "ok"]
    assert bad == []
    seen = set()
    for key, _, b in out:
        plain = base64.b64decode(b)
        ns_name = key.split("/")[-2:]
        path_parts = key.split("/")
        if key in seen:
            continue
        seen.add(key)
        gr = _gr_of(key)
        if "." in path_parts[2]:  # custom resource: JSON, equal to what is served
            obj = json.loads(plain)
            group = path_parts[2]
            st, live = kube.request("GET", f"/apis/{group}/v1/namespaces/{ns_name[0]}/{path_parts[3]}/"
                                           f"{ns_name[1]}")
            assert st == 200
            live["metadata"].pop("resourceVersion")
            assert obj == live, key
        else:
            assert plain.startswith(b"k8s\x00"), key
            base = "/apis/apps/v1" if gr == "deployments.apps" else "/api/v1"
            st, live = kube.request("GET", f"{base}/namespaces/{ns_name[0]}/{gr.split('.')[0]}/{ns_name[1]}")
            assert st == 200, key
            assert live["metadata"]["uid"].encode() in plain and ns_name[1].encode() in plain, key
    # the same values without the configuration: each names its provider and key
    r = subprocess.run([str(probe), "/dev/null"], input="", capture_output=True, text=True)
    assert r.returncode == 1 and "EncryptionConfiguration" in r.stderr
