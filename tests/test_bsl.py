"""From a BackupStorageLocation to a vault: `velerofs url BSL.yaml` for
every provider and form of file, and `velerofs mount --bsl NAME` against
the real kube-apiserver (the BSL and its credential Secret created
there) pointing at the real MinIO and Azurite."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time

import pytest

import util
from servers import harness

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "backupstoragelocations.velero.io"},
    "spec": {
        "group": "velero.io", "scope": "Namespaced",
        "names": {"kind": "BackupStorageLocation", "listKind": "BackupStorageLocationList",
                  "plural": "backupstoragelocations", "singular": "backupstoragelocation",
                  "shortNames": ["bsl"]},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object",
                                                     "x-kubernetes-preserve-unknown-fields": True}}}],
    },
}


def bsl(provider, bucket, prefix=None, config=None, credential=None, ca=None, name="default"):
    spec = {"provider": provider, "objectStorage": {"bucket": bucket}}
    if prefix is not None:
        spec["objectStorage"]["prefix"] = prefix
    if ca is not None:
        spec["objectStorage"]["caCert"] = base64.b64encode(ca).decode()
    if config:
        spec["config"] = config
    if credential:
        spec["credential"] = credential
    return {"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": name, "namespace": "velero"}, "spec": spec}


def url_of(velerofs, tmp_path, obj, *args, text=None):
    f = tmp_path / "bsl.yaml"
    f.write_text(text if text is not None else json.dumps(obj))
    return subprocess.run([str(velerofs), "url", *args, str(f)], capture_output=True, text=True,
                          timeout=60)


# --------------------------------------------------------------------------
# velerofs url

CASES = [
    # AWS S3: region only, virtual-hosted at AWS's endpoint
    (bsl("aws", "acme-velero", "prod", {"region": "eu-west-1"}),
     "s3://acme-velero/prod?region=eu-west-1"),
    # AWS, profile of the credentials file, no region (the plugin asks AWS)
    (bsl("velero.io/aws", "acme-velero", None, {"profile": "backup"}),
     "s3://acme-velero?profile=backup"),
    # MinIO as Velero's docs install it
    (bsl("aws", "velero", "/cluster-a/", {"region": "minio", "s3ForcePathStyle": "true",
                                          "s3Url": "http://minio.velero.svc:9000",
                                          "publicUrl": "https://minio.example.com"}),
     "s3://velero/cluster-a?region=minio&endpoint=http://minio.velero.svc:9000&style=path"),
    # a custom endpoint without s3ForcePathStyle stays virtual-hosted, as in the plugin
    (bsl("aws", "velero", "", {"region": "us-east-1", "s3Url": "https://ceph.example:8443",
                               "insecureSkipTLSVerify": "true"}),
     "s3://velero?region=us-east-1&endpoint=https://ceph.example:8443&style=virtual&insecure=1"),
    # Alibaba Cloud OSS (ACK backup center), public and internal networks
    (bsl("alibabacloud", "ack-backup", "cluster-1", {"region": "cn-hangzhou"}),
     "s3://ack-backup/cluster-1?region=cn-hangzhou"
     "&endpoint=https://s3.oss-cn-hangzhou.aliyuncs.com&style=virtual"),
    (bsl("velero.io/alibabacloud", "ack-backup", None, {"region": "cn-beijing", "network": "internal"}),
     "s3://ack-backup?region=cn-beijing"
     "&endpoint=https://s3.oss-cn-beijing-internal.aliyuncs.com&style=virtual"),
    # Azure Blob (AKS on Azure Local, or Azure Backup for AKS's account and container)
    (bsl("azure", "velero", "aks-1", {"resourceGroup": "rg", "storageAccount": "acmebackups",
                                      "subscriptionId": "0000-1111",
                                      "storageAccountKeyEnvVar": "AZURE_STORAGE_ACCOUNT_ACCESS_KEY"}),
     "azblob://acmebackups/velero/aks-1"),
    (bsl("velero.io/azure", "velero", None, {"storageAccount": "acmebackups",
                                             "storageAccountURI": "https://acmebackups.blob.core.usgovcloudapi.net"}),
     "azblob://acmebackups/velero?endpoint=https://acmebackups.blob.core.usgovcloudapi.net"),
]


@pytest.mark.parametrize("obj,want", CASES, ids=[c[1].split("?")[0] + str(i) for i, c in enumerate(CASES)])
def test_url(velerofs, tmp_path, obj, want):
    r = url_of(velerofs, tmp_path, obj)
    assert r.returncode == 0, r.stderr
    assert r.stdout == want + "\n"


def test_url_yaml_list_and_stdin(velerofs, tmp_path):
    text = """\
apiVersion: v1
kind: List
items:
- apiVersion: velero.io/v1
  kind: BackupStorageLocation
  metadata: {name: a, namespace: velero}
  spec:
    provider: aws
    objectStorage:
      bucket: one
      prefix: p
    config:
      region: minio
      s3ForcePathStyle: true
      s3Url: http://127.0.0.1:9000
---
apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata: {name: b, namespace: velero}
spec:
  provider: azure
  objectStorage: {bucket: two}
  config: {storageAccount: acct}
"""
    r = url_of(velerofs, tmp_path, None, text=text)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "s3://one/p?region=minio&endpoint=http://127.0.0.1:9000&style=path",
        "azblob://acct/two"]
    r2 = subprocess.run([str(velerofs), "url", "-"], input=text, capture_output=True, text=True)
    assert r2.returncode == 0 and r2.stdout == r.stdout


def test_url_ca_cert(velerofs, tmp_path):
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    obj = bsl("aws", "velero", None, {"region": "r1", "s3Url": "https://s3.local", "s3ForcePathStyle": "true"},
              ca=pem)
    r = url_of(velerofs, tmp_path, obj)
    assert r.returncode == 0 and r.stdout.startswith("s3://velero?")
    assert "--ca-file" in r.stderr
    ca = tmp_path / "ca.pem"
    r = url_of(velerofs, tmp_path, obj, "--ca-file", str(ca))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("&ca=%s" % ca)
    assert ca.read_bytes() == pem


@pytest.mark.parametrize("obj,words", [
    (bsl("gcp", "b"), "provider 'gcp' is not one velerofs reads"),
    (bsl("aws", "bad/bucket"), "objectStorage.bucket"),
    (bsl("aws", "b", "../x"), "prefix"),
    (bsl("azure", "b"), "storageAccount"),
    (bsl("alibabacloud", "b"), "config.region"),
    (bsl("aws", "b", None, {"s3ForcePathStyle": "sure"}), "s3ForcePathStyle"),
    ({"kind": "Pod"}, "not a BackupStorageLocation"),
])
def test_url_refuses(velerofs, tmp_path, obj, words):
    r = url_of(velerofs, tmp_path, obj)
    assert r.returncode == 1
    assert words in r.stderr and r.stdout == ""


def test_url_not_yaml(velerofs, tmp_path):
    r = url_of(velerofs, tmp_path, None, text="a: [b\n")
    assert r.returncode == 1 and "not YAML or JSON" in r.stderr
    r = url_of(velerofs, tmp_path, None, text="")
    assert r.returncode == 1 and "no BackupStorageLocation" in r.stderr


# --------------------------------------------------------------------------
# mount --bsl against the real kube-apiserver, MinIO and Azurite


@pytest.fixture(scope="module")
def cluster(kube):
    st, _ = kube.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                                "backupstoragelocations.velero.io")
    if st == 404:  # a session that ran `velero install` has the real one
        kube.apply(CRD)
    kube.kubectl("wait", "--for=condition=established", "--timeout=60s",
                 "crd/backupstoragelocations.velero.io")
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "velero"}})
    return kube


def secret(name, key, data: str):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "velero"},
            "type": "Opaque", "data": {key: base64.b64encode(data.encode()).decode()}}


def clean_env(monkeypatch, tmp_path):
    """No AWS_*/AZURE_* of the machine; a HOME without ~/.aws."""
    for k in list(os.environ):
        if k.startswith(("AWS_", "AZURE_")):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(tmp_path))


@pytest.fixture(scope="module")
def bsl_minio(minio):
    from test_remote import upload_s3
    upload_s3(minio, "bsl-test", "cluster-a", util.SHOP_VAULT)
    return minio


def no_secret_in_process(m, *secrets):
    pid = m.proc.pid
    cmdline = open("/proc/%d/cmdline" % pid, "rb").read()
    environ = open("/proc/%d/environ" % pid, "rb").read()
    for s in secrets:
        assert s.encode() not in cmdline and s.encode() not in environ
    # the credentials are in memory files, not on disk
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if "velerofs-bsl" in target:
            assert target.startswith("/memfd:"), target


def test_mount_bsl_minio(mount, cluster, bsl_minio, monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path)
    m = bsl_minio
    cluster.apply(
        secret("cloud-credentials", "cloud",
               "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
               % (m.access_key, m.secret_key)),
        bsl("aws", "bsl-test", "cluster-a",
            {"region": m.region, "s3ForcePathStyle": "true", "s3Url": m.url}, name="minio-a"))
    mnt = mount("--bsl=minio-a", args=("--kubeconfig", str(cluster.kubeconfig), "-n", "velero",
                                       "-o", "no_restore"))
    want = (util.SHOP_VAULT / "backups" / "shop-only" / "velero-backup.json").read_bytes()
    got = (mnt / "backups" / "shop-only" / "backup.yaml").read_text()
    assert json.loads(want)["metadata"]["name"] == "shop-only" and "name: shop-only" in got
    assert "configmaps" in os.listdir(mnt / "backups" / "shop-only" / "namespaces" / "shop")
    no_secret_in_process(mnt, m.secret_key)
    # the same URL from the cluster, without credentials
    r = subprocess.run([str(util.velerofs_binary()), "url", "--kubeconfig", str(cluster.kubeconfig),
                        "--bsl", "minio-a"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "s3://bsl-test/cluster-a?region=%s&endpoint=%s&style=path\n" % (m.region, m.url)


def test_mount_bsl_named_credential_and_profile(mount, cluster, bsl_minio, monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path)
    m = bsl_minio
    # AWS_PROFILE of the user's shell must not pick another section of the Secret
    monkeypatch.setenv("AWS_PROFILE", "nonesuch")
    cluster.apply(
        secret("other-creds", "aws",
               "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong-secret\n"
               "[backup]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
               % (m.access_key, m.secret_key)),
        {**bsl("aws", "bsl-test", "cluster-a",
               {"region": m.region, "s3ForcePathStyle": "true", "s3Url": m.url, "profile": "backup"},
               credential={"name": "other-creds", "key": "aws"}, name="minio-b")})
    mnt = mount("--bsl=minio-b", args=("--kubeconfig", str(cluster.kubeconfig), "-o", "no_restore"))
    assert "shop-only" in os.listdir(mnt / "backups")


def run_mount_fails(velerofs, tmp_path, kube, *args):
    mnt = tmp_path / "mnt"
    mnt.mkdir(exist_ok=True)
    return subprocess.run([str(velerofs), "mount", "-f", "--cache", str(tmp_path / "c"),
                           "--kubeconfig", str(kube.kubeconfig), "-o", "no_restore", *args, str(mnt)],
                          capture_output=True, text=True, timeout=120)


def test_mount_bsl_errors(velerofs, cluster, bsl_minio, monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path)
    m = bsl_minio
    r = run_mount_fails(velerofs, tmp_path, cluster, "--bsl", "nonesuch")
    assert r.returncode != 0 and "velero/nonesuch" in r.stderr
    cluster.apply(bsl("aws", "bsl-test", "cluster-a", {"region": m.region, "s3ForcePathStyle": "true",
                                                        "s3Url": m.url},
                      credential={"name": "missing-secret", "key": "cloud"}, name="minio-c"))
    r = run_mount_fails(velerofs, tmp_path, cluster, "--bsl", "minio-c")
    assert r.returncode != 0 and "missing-secret" in r.stderr
    cluster.apply(secret("wrong-key", "other", "x"),
                  bsl("aws", "bsl-test", None, {"s3Url": m.url}, name="minio-d",
                      credential={"name": "wrong-key", "key": "cloud"}))
    r = run_mount_fails(velerofs, tmp_path, cluster, "--bsl", "minio-d")
    assert r.returncode != 0 and "has no key 'cloud'" in r.stderr
    r = run_mount_fails(velerofs, tmp_path, cluster, "--bsl", "Bad_Name")
    assert r.returncode != 0 and "not a Kubernetes object name" in r.stderr
    # --bsl and a VAULT
    r = run_mount_fails(velerofs, tmp_path, cluster, "--bsl", "minio-a", str(util.SHOP_VAULT))
    assert r.returncode == 2 and "only the MOUNTPOINT" in r.stderr


def test_mount_bsl_azurite(mount, cluster, azurite, monkeypatch, tmp_path):
    from test_remote import upload_az
    clean_env(monkeypatch, tmp_path)
    acct = harness.DEV_ACCOUNT
    upload_az(azurite, "bsl-az", "aks", util.SHOP_VAULT)
    cluster.apply(
        secret("cloud-credentials-azure", "cloud",
               "AZURE_SUBSCRIPTION_ID=0000\nAZURE_RESOURCE_GROUP=rg\nAZURE_CLOUD_NAME=AzurePublicCloud\n"
               "MY_KEY=%s\n" % azurite.accounts[acct]),
        bsl("velero.io/azure", "bsl-az", "aks",
            {"storageAccount": acct, "resourceGroup": "rg", "subscriptionId": "0000",
             "storageAccountURI": azurite.endpoint(acct), "storageAccountKeyEnvVar": "MY_KEY"},
            credential={"name": "cloud-credentials-azure", "key": "cloud"}, name="azure-a"))
    mnt = mount("--bsl=azure-a", args=("--kubeconfig", str(cluster.kubeconfig), "-o", "no_restore"))
    assert "shop-only" in os.listdir(mnt / "backups")
    no_secret_in_process(mnt, azurite.accounts[acct])


def test_mount_bsl_without_secret_uses_environment(mount, cluster, bsl_minio, monkeypatch, tmp_path):
    # Velero with IRSA or workload identity has no cloud-credentials Secret: the
    # environment's credentials are used, and the mount says so
    clean_env(monkeypatch, tmp_path)
    m = bsl_minio
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", m.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", m.secret_key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "velero-irsa"}},
                  {**bsl("aws", "bsl-test", "cluster-a",
                         {"region": m.region, "s3ForcePathStyle": "true", "s3Url": m.url}, name="irsa"),
                   "metadata": {"name": "irsa", "namespace": "velero-irsa"}})
    mnt = mount("--bsl=irsa", args=("--kubeconfig", str(cluster.kubeconfig), "--namespace", "velero-irsa",
                                    "-o", "no_restore"))
    assert "shop-only" in os.listdir(mnt / "backups")
    assert "there is no Secret cloud-credentials" in mnt.stderr()
