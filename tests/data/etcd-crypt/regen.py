#!/usr/bin/env python3
"""Regenerates tests/data/etcd-crypt/{config.yaml,vectors.txt} for tests/unit/test_etcd_crypt.c.

config.yaml: tests/servers/harness.encryption_config() (the keys are fixed, derived from names),
plus an entry whose secretbox key is NaCl's test key (32 bytes of 0x01).

vectors.txt, one case a line: `<expect> <gr> <etcd key> <value, base64> <check>`
  expect  ok | ENOKEY | EBADMSG | EOPNOTSUPP | EINVAL (what etcd_crypt_decrypt returns)
  gr      the resource ("secrets", "widgets.crypt.velerofs.test"), or - for none
  check   sha256:<hex of the plaintext> | has:<b64>,<b64>... (substrings of it) | -
Sources:
  - synthetic: aescbc and aesgcm values made here with the `cryptography` package (an independent
    AES), the NaCl secretbox vector (golang.org/x/crypto nacl/secretbox TestSecretBox, "generated
    using the C implementation of NaCl"), and broken values (wrong key, moved key, bad padding,
    truncated, KMS, unknown provider);
  - --server: values written by the real kube-apiserver (the harness's pin) with this
    configuration, read raw from its etcd: Secrets (aescbc, then aesgcm after a key rotation),
    ConfigMaps (aesgcm), ServiceAccounts and a custom resource (secretbox).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from servers import harness  # noqa: E402

NACL_KEY = bytes([1]) * 32
NACL_NONCE = bytes([2]) * 24
NACL_MSG = bytes([3]) * 64
NACL_BOX = bytes.fromhex(
    "8442bc313f4626f1359e3b50122b6ce6fe66ddfe7d39d14e637eb4fd5b45beadab55198df6ab5368439792a23c87db70"
    "acb6156dc5ef957ac04f6276cf6093b84be77ff0849cc33e34b7254d5a8f65ad")


def config() -> dict:
    c = harness.encryption_config()
    c["resources"].append({"resources": ["naclvectors.test.velerofs"], "providers": [
        {"secretbox": {"keys": [{"name": "nacl", "secret": base64.b64encode(NACL_KEY).decode()}]}}]})
    c["resources"].append({"resources": ["kmsthings.test.velerofs"], "providers": [
        {"kms": {"apiVersion": "v2", "name": "vault-kms", "endpoint": "unix:///nonexistent.sock"}}]})
    return c


def key_of(cfg, provider, name) -> bytes:
    for r in cfg["resources"]:
        for p in r["providers"]:
            for k in p.get(provider, {}).get("keys", []):
                if k["name"] == name:
                    return base64.b64decode(k["secret"])
    raise KeyError(name)


def cbc(key: bytes, plain: bytes, iv: bytes, pad: bytes | None = None) -> bytes:
    n = 16 - len(plain) % 16
    padded = plain + bytes([n]) * n if pad is None else plain + pad
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + e.update(padded) + e.finalize()


def line(expect, gr, key, value: bytes, check="-"):
    return f"{expect} {gr or '-'} {key} {base64.b64encode(value).decode()} {check}"


def sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def synthetic(cfg) -> list[str]:
    out = ["# synthetic (regen.py: cryptography's AES, NaCl's secretbox vector)"]
    plain = b"k8s\x00\n\x0c\n\x02v1\x12\x06Secret" + bytes(range(256)) + b"synthetic-marker"
    k = key_of(cfg, "aescbc", "cbc-key-2026")
    ko = key_of(cfg, "aescbc", "cbc-key-old")
    iv = bytes(range(16))
    p = b"k8s:enc:aescbc:v1:"
    key = "/registry/secrets/ns/a"
    out.append(line("ok", "secrets", key, p + b"cbc-key-2026:" + cbc(k, plain, iv), sha(plain)))
    out.append(line("ok", "secrets", key, p + b"cbc-key-old:" + cbc(ko, plain, iv), sha(plain)))
    out.append(line("ok", None, key, p + b"cbc-key-old:" + cbc(ko, plain, iv), sha(plain)))
    # a JSON value (custom resources), exactly one block of padding
    js = b'{"kind":"Widget","apiVersion":"crypt.velerofs.test/v1","metadata":{"name":"x"}}  '
    js = js + b" " * (-len(js) % 16)
    out.append(line("ok", "secrets", key, p + b"cbc-key-2026:" + cbc(k, js, iv), sha(js)))
    out.append(line("EBADMSG", "secrets", key, p + b"cbc-key-2026:" + cbc(ko[:16] * 2, plain, iv)))
    out.append(line("EBADMSG", "secrets", key, p + b"cbc-key-2026:" + cbc(k, b"k8s\x00" + b"z" * 27, iv, pad=b"\x00")))
    # pad bytes that differ; a pad longer than a block (accepted by the apiserver: 1..len)
    out.append(line("EBADMSG", "secrets", key, p + b"cbc-key-2026:" + cbc(k, b"k8s\x00" + b"z" * 26, iv,
                                                                         pad=b"\x01\x02")))
    long_pad = b"k8s\x00" + b"q" * 8 + bytes([20]) * 20
    out.append(line("ok", "secrets", key, p + b"cbc-key-2026:" + cbc(k, long_pad, iv, pad=b""),
                    sha(b"k8s\x00" + b"q" * 8)))
    out.append(line("EBADMSG", "secrets", key, p + b"cbc-key-2026:" + cbc(k, plain, iv)[:-1]))
    out.append(line("EBADMSG", "secrets", key, p + b"cbc-key-2026:" + iv))
    out.append(line("EBADMSG", "secrets", key, p + b"cbc-key-2026:"))
    out.append(line("ENOKEY", "secrets", key, p + b"cbc-key-1999:" + cbc(k, plain, iv)))
    out.append(line("ENOKEY", "secrets", key, p + b"cbc-key-2026"))  # no ':' after the name

    g = key_of(cfg, "aesgcm", "gcm-key-2026")
    go = key_of(cfg, "aesgcm", "gcm-key-old")
    nonce = bytes(range(100, 112))
    p = b"k8s:enc:aesgcm:v1:"
    key = "/registry/configmaps/ns/cm"
    ct = AESGCM(g).encrypt(nonce, plain, key.encode())
    out.append(line("ok", "configmaps", key, p + b"gcm-key-2026:" + nonce + ct, sha(plain)))
    ct = AESGCM(go).encrypt(nonce, plain, key.encode())
    out.append(line("ok", "configmaps", key, p + b"gcm-key-old:" + nonce + ct, sha(plain)))
    # moved to another key: the additional data differs
    out.append(line("EBADMSG", "configmaps", "/registry/configmaps/ns/other",
                    p + b"gcm-key-old:" + nonce + ct))
    # a flipped bit
    bad = bytearray(ct)
    bad[5] ^= 1
    out.append(line("EBADMSG", "configmaps", key, p + b"gcm-key-old:" + nonce + bytes(bad)))
    out.append(line("EBADMSG", "configmaps", key, p + b"gcm-key-old:" + nonce + ct[-15:]))
    ct = AESGCM(g).encrypt(nonce, b"", key.encode())
    out.append(line("ok", "configmaps", key, p + b"gcm-key-2026:" + nonce + ct, sha(b"")))

    p = b"k8s:enc:secretbox:v1:"
    box = p + b"nacl:" + NACL_NONCE + NACL_BOX
    out.append(line("ok", "naclvectors.test.velerofs", "/registry/x", box, sha(NACL_MSG)))
    out.append(line("ok", None, "/registry/x", box, sha(NACL_MSG)))
    out.append(line("EBADMSG", None, "/registry/x", box[:-1] + bytes([box[-1] ^ 0x80])))
    out.append(line("EBADMSG", None, "/registry/x", p + b"nacl:" + NACL_NONCE + NACL_BOX[:15]))
    out.append(line("ENOKEY", None, "/registry/x", p + b"box-key-1999:" + NACL_NONCE + NACL_BOX))

    out.append(line("EOPNOTSUPP", "kmsthings.test.velerofs", "/registry/x",
                    b"k8s:enc:kms:v2:vault-kms:" + bytes(range(40))))
    out.append(line("EOPNOTSUPP", None, "/registry/x", b"k8s:enc:kms:v1:old-kms:" + bytes(range(40))))
    out.append(line("EINVAL", None, "/registry/x", b"k8s:enc:rot13:v1:k:abc"))
    out.append(line("EINVAL", None, "/registry/x", b"k8s\x00\n\x0c"))
    return out


def etcd_range(etcd, prefix: str) -> list[tuple[str, bytes]]:
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    body = json.dumps({"key": base64.b64encode(prefix.encode()).decode(),
                       "range_end": base64.b64encode(end.encode()).decode()}).encode()
    req = urllib.request.Request(etcd.url + "/v3/kv/range", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        kvs = json.load(r).get("kvs", [])
    return [(base64.b64decode(kv["key"]).decode(), base64.b64decode(kv["value"])) for kv in kvs]


def from_server(cfg) -> list[str]:
    sys.path.insert(0, str(HERE.parent.parent))
    import etcd_population as pop

    out = [f"# written by kube-apiserver {harness.KUBE_VERSION} (regen.py --server)"]
    # without the KMS entry: a KMS plugin that is not there keeps /readyz failing
    cfg = {**cfg, "resources": [r for r in cfg["resources"]
                                if not any("kms" in p for p in r["providers"])]}
    with harness.Etcd() as etcd, harness.KubeApiserver(etcd, encryption=cfg,
                                                        etcd_prefix="/registry") as kube:
        marker = "velerofs-crypt-marker-" + "x" * 40
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "crypt"}}
        sec = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1", "namespace": "crypt"},
               "stringData": {"password": marker, "big": "y" * 300}}
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1", "namespace": "crypt"},
              "data": {"k": marker}}
        sa = {"apiVersion": "v1", "kind": "ServiceAccount",
              "metadata": {"name": "sa1", "namespace": "crypt", "annotations": {"m": marker}}}
        kube.apply(ns, sec, cm, sa, pop.WIDGET_CRD)
        kube.kubectl("wait", "--for=condition=Established", "crd/widgets.crypt.velerofs.test")
        w = {"apiVersion": "crypt.velerofs.test/v1", "kind": "Widget",
             "metadata": {"name": "w1", "namespace": "crypt"}, "spec": {"m": marker}}
        for _ in range(50):
            if kube.kubectl("apply", "-f", "-", input=json.dumps(w), check=False).returncode == 0:
                break
        grs = {"secrets": "secrets", "configmaps": "configmaps", "serviceaccounts": "serviceaccounts",
               "crypt.velerofs.test/widgets": "widgets.crypt.velerofs.test"}
        m64 = base64.b64encode(marker.encode()).decode()

        def collect(tag, names):
            for sub, gr in grs.items():
                for k, v in etcd_range(etcd, f"/registry/{sub}/crypt/"):
                    if k.rsplit("/", 1)[1] not in names:
                        continue
                    assert v.startswith(b"k8s:enc:"), (k, v[:40])
                    n64 = base64.b64encode(k.rsplit("/", 1)[1].encode()).decode()
                    out.append(f"# {tag}: {v[:v.index(b':', 18) + 1].decode()}...")
                    out.append(line("ok", gr, k, v, f"has:{m64},{n64}"))
                    # the same value under another key: aesgcm refuses it, the others do not see keys
                    moved = k + "-moved"
                    gcm = v.startswith(b"k8s:enc:aesgcm:")
                    out.append(line("EBADMSG" if gcm else "ok", gr, moved, v,
                                    "-" if gcm else f"has:{m64}"))

        collect("first keys", {"s1", "c1", "sa1", "w1"})
        # rotation: Secrets now aesgcm, the others with their older keys
        rot = harness.encryption_config(rotated=True)
        rot["resources"] += cfg["resources"][3:]
        kube.set_encryption(rot)
        sec["metadata"]["name"] = "s2"
        cm["metadata"]["name"] = "c2"
        sa["metadata"]["name"] = "sa2"
        w["metadata"]["name"] = "w2"
        kube.apply(sec, cm, sa)
        kube.kubectl("apply", "-f", "-", input=json.dumps(w))
        out.append("# after a key rotation (harness.encryption_config(rotated=True))")
        collect("rotated keys", {"s2", "c2", "sa2", "w2"})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", action="store_true", help="also take values from a real kube-apiserver")
    a = ap.parse_args()
    cfg = config()
    import yaml
    (HERE / "config.yaml").write_text(
        "# written by regen.py: tests/servers/harness.encryption_config() plus test entries\n"
        + yaml.safe_dump(cfg, sort_keys=False))
    lines = synthetic(cfg)
    if a.server:
        lines += from_server(cfg)
    else:
        old = (HERE / "vectors.txt").read_text().splitlines() if (HERE / "vectors.txt").exists() else []
        if "# written by kube-apiserver" in "\n".join(old):
            i = next(i for i, x in enumerate(old) if x.startswith("# written by kube-apiserver"))
            lines += old[i:]
    (HERE / "vectors.txt").write_text("\n".join(lines) + "\n")
    print(f"{len([x for x in lines if not x.startswith('#')])} vectors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
