"""Smoke tests: each real server starts and does its basic job.

Run: python3 -m pytest tests/servers -p servers.pytest_plugin   (from the repo root, rootdir tests/)
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request

import pytest

from servers import harness


# ------------------------------------------------------------------------------ etcd

def test_etcd_snapshot_save_and_status(etcd, tmp_path):
    """etcdctl and etcdutl (build.sh etcdctl) are at the etcd pin and read what etcd wrote."""
    db = etcd.snapshot_save(tmp_path / "s.db")
    assert db.stat().st_size > 0
    st = json.loads(harness.run([harness.binary("etcdutl"), "snapshot", "status", db, "-w", "json"]).stdout)
    assert st["version"] == ".".join(harness.ETCD_VERSION.lstrip("v").split(".")[:2]) + ".0"
    out = harness.run([harness.binary("etcdctl"), "version"]).stdout
    assert f"etcdctl version: {harness.ETCD_VERSION.lstrip('v')}" in out


# ------------------------------------------------------------------------------ kube-apiserver

def test_kube_version_is_pinned(kube):
    with urllib.request.urlopen(kube.url + "/version", context=kube.ssl_context()) as r:
        v = json.load(r)
    assert v["gitVersion"] == harness.KUBE_VERSION
    assert v["major"] == "1" and v["minor"] == harness.KUBE_VERSION.split(".")[1]


def test_kube_client_cert_admin(kube):
    ns = "smoke-cert"
    kube.kubectl("create", "namespace", ns, user="admin")
    kube.kubectl("-n", ns, "create", "configmap", "app.config", "--from-literal=a.properties=x=1\ny=2\n",
                 user="admin")
    out = kube.kubectl("-n", ns, "get", "configmap", "app.config", "-o", "json", user="admin").stdout
    assert json.loads(out)["data"]["a.properties"] == "x=1\ny=2\n"
    assert kube.kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}",
                        user="admin").stdout == "admin"


def test_kube_token_admin(kube):
    ns = "smoke-token"
    kube.kubectl("create", "namespace", ns, user="token-admin")
    kube.kubectl("-n", ns, "create", "configmap", "cm1", "--from-literal=k=v", user="token-admin")
    # the same through plain HTTPS with the bearer token (what a libcurl client does)
    st, body = kube.request("GET", f"/api/v1/namespaces/{ns}/configmaps/cm1", user="token-admin")
    assert st == 200 and body["data"] == {"k": "v"}
    st, body = kube.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", user="token-admin",
                            body={"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                  "metadata": {"name": "system:smoke:odd.name"}, "rules": []})
    assert st == 201, body
    st, body = kube.request("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:smoke:odd.name",
                            user="token-admin")
    assert st == 200 and body["metadata"]["name"] == "system:smoke:odd.name"


def test_kube_rbac(kube):
    ns = "smoke-rbac"
    kube.kubectl("create", "namespace", ns)
    kube.kubectl("-n", ns, "create", "configmap", "cm1", "--from-literal=k=v")
    # viewer may read but not write
    assert kube.kubectl("-n", ns, "get", "configmap", "cm1", user="viewer").returncode == 0
    r = kube.kubectl("-n", ns, "create", "configmap", "cm2", "--from-literal=k=v", user="viewer", check=False)
    assert r.returncode != 0 and "forbidden" in r.stderr.lower()
    # nobody may do nothing
    r = kube.kubectl("-n", ns, "get", "configmap", "cm1", user="nobody", check=False)
    assert r.returncode != 0 and "forbidden" in r.stderr.lower()
    r = kube.kubectl("create", "namespace", "smoke-nobody", user="nobody", check=False)
    assert r.returncode != 0 and "forbidden" in r.stderr.lower()
    st, _ = kube.request("GET", f"/api/v1/namespaces/{ns}/configmaps", user="nobody")
    assert st == 403
    # a wrong token is not a user at all
    req = urllib.request.Request(kube.url + "/api/v1/namespaces",
                                 headers={"Authorization": "Bearer not-a-token"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, context=kube.ssl_context())
    assert e.value.code == 401


def test_kube_kubeconfig_contexts(kube):
    text = kube.kubeconfig.read_text()
    for u in kube.USERS:
        assert f"- name: {u}\n" in text
    assert os.path.exists(kube.ca_file)


# ------------------------------------------------------------------------------ MinIO

def test_minio_put_get_list(minio):
    # a bucket of its own: the servers are shared by the whole session
    minio.make_bucket("smoke")
    key = "backups/b1/velero-backup.json"
    minio.put("smoke", key, b'{"kind":"Backup"}')
    assert minio.get("smoke", key) == b'{"kind":"Backup"}'
    for i in range(5):
        minio.put("smoke", f"smoke/page/{i}", str(i).encode())
    assert minio.list_keys("smoke", "smoke/page/", max_keys=2) == [f"smoke/page/{i}" for i in range(5)]
    assert key in minio.list_keys("smoke")


def test_minio_rejects_bad_credentials(minio):
    import subprocess
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--aws-sigv4",
                        "aws:amz:us-east-1:s3", "-u", "velerotest:wrong-secret",
                        f"{minio.url}/velero?list-type=2"], capture_output=True, text=True)
    assert r.stdout == "403"


# ------------------------------------------------------------------------------ Azurite

@pytest.mark.parametrize("account", [harness.DEV_ACCOUNT, harness.Azurite.extra_account])
def test_azurite_put_get_blob(azurite, account):
    # a container of its own: the servers are shared by the whole session
    azurite.create_container(account, "smoke")
    azurite.put_blob(account, "smoke", "backups/b1/velero-backup.json", b"{}")
    assert azurite.get_blob(account, "smoke", "backups/b1/velero-backup.json") == b"{}"
    st, _, body = azurite.request("GET", account, "/smoke",
                                  query={"restype": "container", "comp": "list", "prefix": "backups/"})
    assert st == 200 and b"<Name>backups/b1/velero-backup.json</Name>" in body


def test_azurite_rejects_wrong_key(azurite):
    acct = harness.Azurite.extra_account
    azurite.create_container(acct, "velero")
    wrong = base64.b64encode(b"x" * 64).decode()
    st, _, _ = harness.azure_blob_request(azurite.endpoint(acct), acct, wrong, "GET", "/velero",
                                          query={"restype": "container", "comp": "list"})
    assert st == 403
