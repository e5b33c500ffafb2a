#!/usr/bin/env python3
"""Regenerates tests/data/etcd-pki/pki/: a kubeadm-style /etc/kubernetes/pki directory (as GKE on
VMware and kubeadm back it up) for tests/unit/test_etcd_pki.c, with fixed names, serials and
validity dates (the keys are new on each run), plus broken files.

Then regenerate the golden report: VELEROFS_UPDATE_GOLDEN=1 build/etcd/test_etcd_pki tests/data/etcd-pki
(and read the diff: the test also checks the facts it cares about one by one).
The unit test's "now" is 2026-12-02T00:00:00Z.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
OUT = HERE / "pki"
UTC = dt.timezone.utc


def d(y, m=1, day=1):
    return dt.datetime(y, m, day, tzinfo=UTC)


def name(cn, o=None):
    attrs = ([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o)] if o else []) + \
        [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    return x509.Name(attrs)


def pem_key(k, fmt=serialization.PrivateFormat.PKCS8, enc=None):
    return k.private_bytes(serialization.Encoding.PEM, fmt,
                           enc or serialization.NoEncryption())


def write(rel, data: bytes):
    p = OUT / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def cert(subject, key, issuer_name, issuer_key, serial, nb, na, ca=False, pathlen=None,
         sans=(), usages=(), sign_hash=hashes.SHA256()):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(nb).not_valid_after(na)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen), critical=True)
         .add_extension(x509.KeyUsage(
             digital_signature=True, content_commitment=False, key_encipherment=not ca,
             data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=False,
             encipher_only=False, decipher_only=False), critical=True))
    if usages:
        b = b.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    if isinstance(issuer_key, ed25519.Ed25519PrivateKey):
        sign_hash = None
    return b.sign(issuer_key, sign_hash).public_bytes(serialization.Encoding.PEM)


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    rsa2k = lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)  # noqa: E731
    server, client = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH

    ca_key = rsa2k()
    ca_name = name("kubernetes")
    write("ca.crt", cert(ca_name, ca_key, ca_name, ca_key, 0x1001, d(2026), d(2036), ca=True))
    write("ca.key", pem_key(ca_key, serialization.PrivateFormat.TraditionalOpenSSL))

    k = rsa2k()
    sans = [x509.DNSName(n) for n in ("kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                      "kubernetes.default.svc.cluster.local", "cp-1")]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("10.96.0.1", "192.0.2.10")]
    write("apiserver.crt", cert(name("kube-apiserver"), k, ca_name, ca_key, 0x2002, d(2026),
                                d(2027), sans=sans, usages=[server]))
    write("apiserver.key", pem_key(k, serialization.PrivateFormat.TraditionalOpenSSL))

    k = rsa2k()  # expired on 2026-11-01, one month before the test's now
    write("apiserver-kubelet-client.crt", cert(name("kube-apiserver-kubelet-client",
                                                    "kubeadm:cluster-admins"), k, ca_name, ca_key,
                                               0x2003, d(2025, 11), d(2026, 11), usages=[client]))
    write("apiserver-kubelet-client.key", pem_key(k))

    # front proxy: Ed25519
    fp_key = ed25519.Ed25519PrivateKey.generate()
    fp_name = name("front-proxy-ca")
    write("front-proxy-ca.crt", cert(fp_name, fp_key, fp_name, fp_key, 0x3001, d(2026), d(2036),
                                     ca=True, pathlen=0))
    write("front-proxy-ca.key", pem_key(fp_key))
    k = ed25519.Ed25519PrivateKey.generate()
    write("front-proxy-client.crt", cert(name("front-proxy-client"), k, fp_name, fp_key, 0x3002,
                                         d(2026), d(2026, 12, 17), usages=[client]))
    write("front-proxy-client.key", pem_key(k))

    # service account signing keys
    k = rsa2k()
    write("sa.key", pem_key(k, serialization.PrivateFormat.TraditionalOpenSSL))
    write("sa.pub", k.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo))

    # etcd: ECDSA P-256, IPv6 SANs
    e_key = ec.generate_private_key(ec.SECP256R1())
    e_name = name("etcd-ca")
    write("etcd/ca.crt", cert(e_name, e_key, e_name, e_key, 0x4001, d(2026), d(2036), ca=True))
    write("etcd/ca.key", pem_key(e_key, serialization.PrivateFormat.TraditionalOpenSSL))
    k = ec.generate_private_key(ec.SECP384R1())
    write("etcd/server.crt", cert(name("cp-1"), k, e_name, e_key, 0x4002, d(2026), d(2027, 6),
                                  sans=[x509.DNSName("cp-1"), x509.DNSName("localhost"),
                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                        x509.IPAddress(ipaddress.ip_address("::1")),
                                        x509.IPAddress(ipaddress.ip_address("2001:db8::10"))],
                                  usages=[server, client]))
    write("etcd/server.key", pem_key(k, serialization.PrivateFormat.TraditionalOpenSSL))
    k = ec.generate_private_key(ec.SECP256R1())
    write("apiserver-etcd-client.crt", cert(name("kube-apiserver-etcd-client"), k, e_name, e_key,
                                            0x4003, d(2026), d(2027), usages=[client]))
    write("apiserver-etcd-client.key", pem_key(k))

    # a bundle (two certificates in one file), an encrypted key, broken files
    write("bundle.crt", (OUT / "apiserver.crt").read_bytes() + (OUT / "ca.crt").read_bytes())
    write("encrypted.key", pem_key(ec.generate_private_key(ec.SECP256R1()),
                                   enc=serialization.BestAvailableEncryption(b"pw")))
    k = ec.generate_private_key(ec.SECP256R1())
    evil = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evil\nCN=\x1b[31mroot")])
    write("evil.crt", cert(evil, k, evil, k, 0x6666, d(2026), d(2027),
                           sans=[x509.DNSName("x\ny.example")]))
    write("bad.crt", b"-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n")
    write("truncated.crt", (OUT / "ca.crt").read_bytes()[:300])
    write("empty.crt", b"")
    write("README.txt", b"kubeadm pki backup taken 2026-12-01\n")
    print(f"wrote {sum(1 for _ in OUT.rglob('*') if _.is_file())} files into {OUT}")


if __name__ == "__main__":
    main()
