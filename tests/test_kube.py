"""The kube/ client against the real kube-apiserver of the test harness.

The C client is driven through build/kube/kube-probe (tests/unit/kube_probe.c):
authentication (client certificate, token, tokenFile, exec plugins, in-cluster),
TLS (CA file and data, a wrong CA, tls-server-name, insecure), RBAC errors with the
server's message, discovery and its refresh for CRDs, merged $KUBECONFIG, a server
that is down, and -- against a small local HTTP server -- retries, Retry-After and
the body cap. Credentials must never show up in what the probe prints."""

from __future__ import annotations

import base64
import http.server
import json
import os
import select
import subprocess
import threading
import time
from pathlib import Path

import pytest

import util
from servers import harness


@pytest.fixture(scope="session")
def probe():
    p = util.build_dir() / "kube" / "kube-probe"
    if not p.is_file():
        pytest.fail(f"{p} not built: run `ninja -C {util.build_dir()}`")
    return p


def run_probe(probe, *args, env=None, home=None, timeout=60, check=None):
    e = {k: v for k, v in os.environ.items()
         if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
                      "POD_NAMESPACE", "https_proxy", "HTTPS_PROXY", "http_proxy",
                      "HTTP_PROXY", "all_proxy", "ALL_PROXY")}
    e["HOME"] = str(home or "/nonexistent")
    e.update(env or {})
    r = subprocess.run([str(probe), *map(str, args)], capture_output=True, text=True,
                       env=e, timeout=timeout)
    if check is not None:
        assert r.returncode == check, f"rc {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def parse_request(out: str):
    lines = out.split("\n", 2)
    assert lines[0].startswith("status "), out
    status = int(lines[0].split()[1])
    message = lines[1][len("message "):]
    body = lines[2].strip() if len(lines) > 2 else ""
    try:
        body = json.loads(body)
    except ValueError:
        pass
    return status, message, body


def whoami(probe, kubeconfig, context=None, env=None, home=None, extra=()):
    """The user name the API server sees (SelfSubjectReview)."""
    args = ["--kubeconfig", kubeconfig] if kubeconfig else []
    if context:
        args += ["--context", context]
    body = Path(os.environ.get("TMPDIR", "/tmp")) / f"ssr-{os.getpid()}.json"
    body.write_text(json.dumps({"apiVersion": "authentication.k8s.io/v1",
                                "kind": "SelfSubjectReview"}))
    r = run_probe(probe, *args, *extra, "request", "POST",
                  "/apis/authentication.k8s.io/v1/selfsubjectreviews", body, env=env, home=home,
                  check=0)
    status, _, obj = parse_request(r.stdout)
    assert status == 201, r.stdout
    return obj["status"]["userInfo"]["username"]


def kubeconfig_text(kube, user: dict, cluster_extra: dict | None = None,
                    context_extra: dict | None = None, ca=True) -> str:
    cluster = {"server": kube.url}
    if ca:
        cluster["certificate-authority"] = str(kube.ca_file)
    cluster.update(cluster_extra or {})
    ctx = {"cluster": "c", "user": "u"}
    ctx.update(context_extra or {})
    return json.dumps({"apiVersion": "v1", "kind": "Config",
                       "clusters": [{"name": "c", "cluster": cluster}],
                       "users": [{"name": "u", "user": user}],
                       "contexts": [{"name": "c", "context": ctx}],
                       "current-context": "c"})


def write(path: Path, text: str, mode=0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def no_secrets(kube, *texts):
    for t in texts:
        for tok in kube.tokens.values():
            assert tok not in t
        assert "PRIVATE KEY" not in t


# --------------------------------------------------------------------------------------
# authentication and TLS


def test_client_certificate(kube, probe):
    assert whoami(probe, kube.kubeconfig, "admin") == "admin"
    r = run_probe(probe, "--kubeconfig", kube.kubeconfig, "info", check=0)
    assert f"server {kube.url}\n" in r.stdout
    assert "namespace default\ncontext admin\n" in r.stdout


def test_client_certificate_data(kube, probe, tmp_path):
    b64 = lambda p: base64.b64encode(Path(p).read_bytes()).decode()
    kc = write(tmp_path / "kc", kubeconfig_text(
        kube, {"client-certificate-data": b64(kube.client_cert),
               "client-key-data": b64(kube.client_key)},
        cluster_extra={"certificate-authority-data": b64(kube.ca_file),
                       "certificate-authority": None}))
    assert whoami(probe, kc) == "admin"


def test_token(kube, probe):
    assert whoami(probe, kube.kubeconfig, "token-admin") == "token-admin"
    assert whoami(probe, kube.kubeconfig, "viewer") == "viewer"


def test_token_file_relative(kube, probe, tmp_path):
    (tmp_path / "secrets").mkdir()
    write(tmp_path / "secrets" / "tok", "\n  " + kube.tokens["viewer"] + "\n")
    kc = write(tmp_path / "kc", kubeconfig_text(kube, {"tokenFile": "secrets/tok"}))
    assert whoami(probe, kc) == "viewer"


def test_wrong_token(kube, probe, tmp_path):
    kc = write(tmp_path / "kc", kubeconfig_text(kube, {"token": "not-a-valid-token"}))
    r = run_probe(probe, "--kubeconfig", kc, "request", "GET", "/api/v1/namespaces", check=0)
    status, message, _ = parse_request(r.stdout)
    assert status == 401
    assert "not-a-valid-token" not in r.stdout + r.stderr


def test_ca_file_relative_and_data(kube, probe, tmp_path):
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.pem").write_bytes(kube.ca_file.read_bytes())
    kc = write(tmp_path / "kc", kubeconfig_text(
        kube, {"token": kube.tokens["token-admin"]},
        cluster_extra={"certificate-authority": "pki/ca.pem"}))
    assert whoami(probe, kc) == "token-admin"
    kc2 = write(tmp_path / "kc2", kubeconfig_text(
        kube, {"token": kube.tokens["token-admin"]}, ca=False,
        cluster_extra={"certificate-authority-data":
                       base64.b64encode(kube.ca_file.read_bytes()).decode()}))
    assert whoami(probe, kc2) == "token-admin"


def other_ca(tmp_path) -> Path:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=some-other-ca", "-keyout", str(tmp_path / "o.key"),
                    "-out", str(tmp_path / "o.crt")], check=True, capture_output=True)
    return tmp_path / "o.crt"


def test_wrong_ca_fails_clearly(kube, probe, tmp_path):
    kc = write(tmp_path / "kc", kubeconfig_text(
        kube, {"token": kube.tokens["token-admin"]},
        cluster_extra={"certificate-authority": str(other_ca(tmp_path))}))
    t0 = time.monotonic()
    r = run_probe(probe, "--kubeconfig", kc, "request", "GET", "/api", check=1)
    assert time.monotonic() - t0 < 5, "TLS failures are not retried"
    assert "TLS" in r.stderr and "not trusted" in r.stderr, r.stderr
    assert kube.url in r.stderr
    assert 'cluster "c"' in r.stderr
    no_secrets(kube, r.stdout, r.stderr)
    # no CA at all: the system roots do not know the test CA either
    kc2 = write(tmp_path / "kc2", kubeconfig_text(kube, {"token": kube.tokens["token-admin"]},
                                                  ca=False))
    r = run_probe(probe, "--kubeconfig", kc2, "request", "GET", "/api", check=1)
    assert "not trusted" in r.stderr


def test_insecure_skip_tls_verify(kube, probe, tmp_path):
    kc = write(tmp_path / "kc", kubeconfig_text(
        kube, {"token": kube.tokens["token-admin"]}, ca=False,
        cluster_extra={"insecure-skip-tls-verify": True}))
    assert whoami(probe, kc) == "token-admin"


def test_tls_server_name(kube, probe, tmp_path):
    # the server certificate names localhost and kubernetes.default, not 127.0.0.2
    url = kube.url.replace("127.0.0.1", "localhost")
    kc = write(tmp_path / "kc", kubeconfig_text(
        kube, {"token": kube.tokens["token-admin"]},
        cluster_extra={"server": url, "tls-server-name": "kubernetes.default"}))
    assert whoami(probe, kc) == "token-admin"
    kc2 = write(tmp_path / "kc2", kubeconfig_text(
        kube, {"token": kube.tokens["token-admin"]},
        cluster_extra={"tls-server-name": "wrong.example.com"}))
    r = run_probe(probe, "--kubeconfig", kc2, "request", "GET", "/api", check=1)
    assert "TLS" in r.stderr, r.stderr


def test_proxy_url_is_used(kube, probe, tmp_path):
    # a proxy that is not there: the error is about the proxy, not the server
    kc = write(tmp_path / "kc", kubeconfig_text(
        kube, {"token": kube.tokens["token-admin"]},
        cluster_extra={"proxy-url": f"http://127.0.0.1:{harness.free_port()}"}))
    r = run_probe(probe, "--kubeconfig", kc, "request", "GET", "/api", check=1)
    assert "cannot connect to the API server through the proxy-url" in r.stderr, r.stderr


# --------------------------------------------------------------------------------------
# exec credential plugins

PLUGIN = r"""#!/bin/sh
d=$(dirname "$0")
echo run >> "$d/calls"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$d/info"
case "$MODE" in
cert)
  python3 -c 'import json,sys; print(json.dumps({"apiVersion": sys.argv[1], "kind": "ExecCredential",
    "status": {"clientCertificateData": open(sys.argv[2]).read(),
               "clientKeyData": open(sys.argv[3]).read()}}))' "$APIV" "$CERT" "$KEY" ;;
badfirst)
  if [ "$(wc -l < "$d/calls")" -eq 1 ]; then tok=bad-token; else tok="$TOKEN"; fi
  printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s"}}\n' "$APIV" "$tok" ;;
fail)
  echo "error: you must log in first" >&2; exit 1 ;;
*)
  printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' \
    "$APIV" "$TOKEN" "$EXPIRY" ;;
esac
"""


def exec_kubeconfig(kube, tmp_path, apiv, mode="token", expiry="2099-01-01T00:00:00Z",
                    token=None, provide=False):
    write(tmp_path / "plugin.sh", PLUGIN, 0o755)
    env = [{"name": "MODE", "value": mode}, {"name": "APIV", "value": apiv},
           {"name": "TOKEN", "value": token or kube.tokens["viewer"]},
           {"name": "EXPIRY", "value": expiry},
           {"name": "CERT", "value": str(kube.client_cert)},
           {"name": "KEY", "value": str(kube.client_key)}]
    ex = {"apiVersion": apiv, "command": "./plugin.sh", "args": ["get-token"], "env": env,
          "provideClusterInfo": provide}
    if apiv.endswith("/v1"):
        ex["interactiveMode"] = "Never"
    return write(tmp_path / "kc", kubeconfig_text(kube, {"exec": ex}))


@pytest.mark.parametrize("apiv", ["client.authentication.k8s.io/v1",
                                  "client.authentication.k8s.io/v1beta1"])
def test_exec_plugin_token(kube, probe, tmp_path, apiv):
    kc = exec_kubeconfig(kube, tmp_path, apiv, provide=True)
    assert whoami(probe, kc) == "viewer"
    info = json.loads((tmp_path / "info").read_text())
    assert info["apiVersion"] == apiv and info["kind"] == "ExecCredential"
    assert info["spec"]["interactive"] is False
    assert info["spec"]["cluster"]["server"] == kube.url
    assert base64.b64decode(info["spec"]["cluster"]["certificate-authority-data"]) == \
        kube.ca_file.read_bytes()


def test_exec_plugin_cached_until_expiry(kube, probe, tmp_path):
    kc = exec_kubeconfig(kube, tmp_path, "client.authentication.k8s.io/v1")
    run_probe(probe, "--kubeconfig", kc, "--repeat", "4", "request", "GET", "/api", check=0)
    assert (tmp_path / "calls").read_text().count("run") == 1
    (tmp_path / "calls").unlink()
    kc = exec_kubeconfig(kube, tmp_path, "client.authentication.k8s.io/v1",
                         expiry="2000-01-01T00:00:00Z")
    run_probe(probe, "--kubeconfig", kc, "--repeat", "3", "request", "GET", "/api", check=0)
    assert (tmp_path / "calls").read_text().count("run") == 3


def test_exec_plugin_refreshed_on_401(kube, probe, tmp_path):
    kc = exec_kubeconfig(kube, tmp_path, "client.authentication.k8s.io/v1", mode="badfirst")
    assert whoami(probe, kc) == "viewer"
    assert (tmp_path / "calls").read_text().count("run") == 2


def test_exec_plugin_client_certificate(kube, probe, tmp_path):
    kc = exec_kubeconfig(kube, tmp_path, "client.authentication.k8s.io/v1beta1", mode="cert")
    assert whoami(probe, kc) == "admin"


def test_exec_plugin_failure(kube, probe, tmp_path):
    kc = exec_kubeconfig(kube, tmp_path, "client.authentication.k8s.io/v1", mode="fail")
    r = run_probe(probe, "--kubeconfig", kc, "request", "GET", "/api", check=1)
    assert "plugin.sh failed with exit status 1: error: you must log in first" in r.stderr


def test_exec_plugin_threads(kube, probe, tmp_path):
    kc = exec_kubeconfig(kube, tmp_path, "client.authentication.k8s.io/v1")
    r = run_probe(probe, "--kubeconfig", kc, "--threads", "8", "--repeat", "10",
                  "request", "GET", "/api/v1/namespaces/default", check=0)
    assert "failures 0" in r.stdout
    assert (tmp_path / "calls").read_text().count("run") == 1


# --------------------------------------------------------------------------------------
# kubeconfig loading: $KUBECONFIG, ~/.kube/config, in-cluster


def test_merged_kubeconfig(kube, probe, tmp_path):
    # the first file sets the current context and its namespace; the clusters and users
    # come from the harness kubeconfig; a user of the same name later on loses
    first = write(tmp_path / "first.yaml", json.dumps({
        "current-context": "mine",
        "contexts": [{"name": "mine", "context": {"cluster": "velerofs-test",
                                                  "user": "viewer", "namespace": "kube-system"}}],
    }))
    last = write(tmp_path / "last.yaml", json.dumps({
        "current-context": "admin",
        "users": [{"name": "viewer", "user": {"token": "overridden"}}],
    }))
    env = {"KUBECONFIG": f"{first}:{tmp_path / 'missing.yaml'}:{kube.kubeconfig}:{last}"}
    r = run_probe(probe, "info", env=env, check=0)
    assert "namespace kube-system\ncontext mine\n" in r.stdout
    assert whoami(probe, None, env=env) == "viewer"
    assert whoami(probe, None, "token-admin", env=env) == "token-admin"


def test_home_kubeconfig(kube, probe, tmp_path):
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text(kube.kubeconfig.read_text())
    assert whoami(probe, None, "viewer", home=tmp_path) == "viewer"


def test_in_cluster(kube, probe, tmp_path):
    sa = tmp_path / "sa"
    sa.mkdir()
    write(sa / "token", kube.tokens["token-admin"] + "\n")
    (sa / "ca.crt").write_bytes(kube.ca_file.read_bytes())
    write(sa / "namespace", "velero")
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(kube.port)}
    r = run_probe(probe, "--serviceaccount-dir", sa, "info", env=env, home=tmp_path, check=0)
    assert f"server https://127.0.0.1:{kube.port}\nnamespace velero\n" in r.stdout
    assert whoami(probe, None, env=env, home=tmp_path,
                  extra=("--serviceaccount-dir", sa)) == "token-admin"


def test_no_kubeconfig(probe, tmp_path):
    r = run_probe(probe, "info", home=tmp_path, check=2)
    assert "no kubeconfig found" in r.stderr


def test_malformed_kubeconfig(probe, tmp_path):
    kc = write(tmp_path / "kc", "clusters:\n- name: a\n  cluster: {server: x\n")
    r = run_probe(probe, "--kubeconfig", kc, "info", check=1)
    assert f"kubeconfig {kc}: line " in r.stderr and "column" in r.stderr, r.stderr


# --------------------------------------------------------------------------------------
# requests, RBAC, discovery


def test_rbac_forbidden_message(kube, probe, tmp_path):
    r = run_probe(probe, "--kubeconfig", kube.kubeconfig, "--context", "nobody",
                  "request", "GET", "/api/v1/namespaces/default/configmaps", check=0)
    status, message, body = parse_request(r.stdout)
    assert status == 403
    assert message == ('configmaps is forbidden: User "nobody" cannot list resource '
                       '"configmaps" in API group "" in the namespace "default"')
    cm = write(tmp_path / "cm.json", json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                                 "metadata": {"name": "x"}}))
    r = run_probe(probe, "--kubeconfig", kube.kubeconfig, "--context", "viewer",
                  "request", "POST", "/api/v1/namespaces/default/configmaps", cm, check=0)
    status, message, _ = parse_request(r.stdout)
    assert status == 403 and 'User "viewer" cannot create resource "configmaps"' in message
    no_secrets(kube, r.stdout, r.stderr)


def test_create_conflict_patch_delete(kube, probe, tmp_path):
    kc = ["--kubeconfig", kube.kubeconfig]
    base = "/api/v1/namespaces/default/configmaps"
    cm = write(tmp_path / "cm.json", json.dumps({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe-cm"},
        "data": {"a": "1"}}))
    status, _, body = parse_request(run_probe(probe, *kc, "request", "POST", base, cm,
                                              check=0).stdout)
    assert status == 201 and body["metadata"]["name"] == "probe-cm"
    status, message, _ = parse_request(run_probe(probe, *kc, "request", "POST", base, cm,
                                                 check=0).stdout)
    assert (status, message) == (409, 'configmaps "probe-cm" already exists')
    patch = write(tmp_path / "patch.json", json.dumps({"data": {"b": "2"}}))
    status, _, body = parse_request(run_probe(probe, *kc, "request", "PATCH", base + "/probe-cm",
                                              patch, "application/merge-patch+json",
                                              check=0).stdout)
    assert status == 200 and body["data"] == {"a": "1", "b": "2"}
    status, _, _ = parse_request(run_probe(probe, *kc, "request", "POST", base + "?dryRun=All",
                                           write(tmp_path / "cm2.json", json.dumps({
                                               "apiVersion": "v1", "kind": "ConfigMap",
                                               "metadata": {"name": "probe-dry"}})),
                                           check=0).stdout)
    assert status == 201
    assert kube.request("GET", base + "/probe-dry")[0] == 404
    status, _, _ = parse_request(run_probe(probe, *kc, "request", "DELETE", base + "/probe-cm",
                                           check=0).stdout)
    assert status == 200
    assert kube.request("GET", base + "/probe-cm")[0] == 404


def test_resolve(kube, probe):
    kc = ["--kubeconfig", kube.kubeconfig, "--context", "nobody"]  # discovery is public
    r = run_probe(probe, *kc, "resolve", "apps/v1", "Deployment", check=0)
    assert r.stdout.strip() == ("group=apps version=v1 kind=Deployment resource=deployments "
                                "namespaced=1 path=/apis/apps/v1/namespaces/default/deployments/x")
    r = run_probe(probe, *kc, "resolve", "v1", "Namespace", check=0)
    assert "resource=namespaces namespaced=0 path=/api/v1/namespaces/x" in r.stdout
    r = run_probe(probe, *kc, "resolve", "rbac.authorization.k8s.io/v1", "ClusterRole", check=0)
    assert "resource=clusterroles namespaced=0" in r.stdout
    r = run_probe(probe, *kc, "resolve", "autoscaling/v1", "Scale", check=2)  # a subresource
    assert "does not serve kind Scale in autoscaling/v1" in r.stderr
    r = run_probe(probe, *kc, "resolve", "nope.example.com/v1", "Thing", check=2)
    assert f"{kube.url} does not serve nope.example.com/v1" in r.stderr


class Shell:
    """kube-probe shell: one client, several commands (the discovery cache lives on)."""

    def __init__(self, probe, *args):
        self.p = subprocess.Popen([str(probe), *map(str, args), "shell"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "HOME": "/nonexistent"})

    def __call__(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = []
        while True:
            ln = self.p.stdout.readline()
            if ln in (".\n", ""):
                break
            out.append(ln)
        rc = int(out.pop().split()[1])
        err = ""
        while select.select([self.p.stderr], [], [], 0.05)[0]:
            chunk = os.read(self.p.stderr.fileno(), 65536).decode()
            if not chunk:
                break
            err += chunk
        return rc, "".join(out), err

    def close(self):
        self.p.stdin.close()
        assert self.p.wait(timeout=30) == 0


def crd(group, kind, plural, scope="Namespaced"):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope,
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(),
                               "listKind": kind + "List"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}]}}


def test_discovery_refresh_for_new_crds(kube, probe):
    group = f"probe{os.getpid()}.example.com"
    sh = Shell(probe, "--kubeconfig", kube.kubeconfig)
    try:
        rc, _, err = sh(f"resolve {group}/v1 Widget")
        assert rc == 2 and f"does not serve {group}/v1" in err
        kube.apply(crd(group, "Widget", "widgets"))
        rc, out, err = sh(f"wait-crd widgets.{group} 30000")
        assert rc == 0, err
        deadline = time.monotonic() + 20
        while True:  # discovery may trail Established by a moment
            rc, out, err = sh(f"resolve {group}/v1 Widget")
            if rc == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert rc == 0, err
        assert f"group={group} version=v1 kind=Widget resource=widgets namespaced=1" in out
        # the group-version is cached now; a second kind in it must still be found
        kube.apply(crd(group, "Gadget", "gadgets", scope="Cluster"))
        rc, out, err = sh(f"wait-crd gadgets.{group} 30000")
        assert rc == 0, err
        deadline = time.monotonic() + 20
        while True:
            rc, out, err = sh(f"resolve {group}/v1 Gadget")
            if rc == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert rc == 0, err
        assert "resource=gadgets namespaced=0" in out
    finally:
        sh.close()


def test_wait_crd_timeout(kube, probe):
    r = run_probe(probe, "--kubeconfig", kube.kubeconfig, "wait-crd", "nothing.example.com",
                  "300", check=1)
    assert "not established after 300 ms" in r.stderr


def test_threads(kube, probe):
    r = run_probe(probe, "--kubeconfig", kube.kubeconfig, "--context", "token-admin",
                  "--threads", "16", "--repeat", "25", "request", "GET", "/api/v1/namespaces",
                  check=0)
    assert "failures 0" in r.stdout


def test_server_down(kube, probe, tmp_path):
    port = harness.free_port()
    kc = write(tmp_path / "kc", kubeconfig_text(kube, {"token": kube.tokens["token-admin"]},
                                                cluster_extra={"server": f"https://127.0.0.1:{port}"}))
    t0 = time.monotonic()
    r = run_probe(probe, "--kubeconfig", kc, "request", "GET", "/api/v1/namespaces", check=1)
    assert time.monotonic() - t0 < 15
    assert f"GET https://127.0.0.1:{port}/api/v1/namespaces: cannot connect to the API server" \
        in r.stderr, r.stderr
    no_secrets(kube, r.stdout, r.stderr)


# --------------------------------------------------------------------------------------
# retries and caps, against a scripted plain-HTTP server


class Scripted(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: list = []  # (status, headers, body) per request; the last repeats
    seen: list = []

    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        status, headers, body = self.script[min(len(self.seen), len(self.script)) - 1]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *a):
        pass


@pytest.fixture
def scripted(tmp_path):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    Scripted.seen = []
    kc = write(tmp_path / "kc", json.dumps({
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{srv.server_port}"}}],
        "users": [{"name": "u", "user": {"token": "scripted-secret"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c"}))
    yield kc
    srv.shutdown()


OK = (200, {"Content-Type": "application/json"}, b'{"kind":"Status","message":"fine"}')


def test_retry_after_429(scripted, probe):
    Scripted.script = [(429, {"Retry-After": "1"}, b'{"message":"slow down"}'), OK]
    t0 = time.monotonic()
    r = run_probe(probe, "--kubeconfig", scripted, "request", "POST", "/x",
                  write(scripted.parent / "b.json", "{}"), check=0)
    assert parse_request(r.stdout)[0] == 200
    assert len(Scripted.seen) == 2
    assert time.monotonic() - t0 >= 0.9
    assert Scripted.seen[0][2] == "Bearer scripted-secret"


def test_5xx_retried_for_get_only(scripted, probe):
    Scripted.script = [(500, {}, b"oops"), (502, {}, b"oops"), OK]
    r = run_probe(probe, "--kubeconfig", scripted, "request", "GET", "/x", check=0)
    assert parse_request(r.stdout)[0] == 200 and len(Scripted.seen) == 3
    Scripted.seen.clear()
    Scripted.script = [(500, {}, b'{"kind":"Status","message":"etcd is sad"}'), OK]
    r = run_probe(probe, "--kubeconfig", scripted, "request", "POST", "/x",
                  write(scripted.parent / "b.json", "{}"), check=0)
    assert parse_request(r.stdout)[:2] == (500, "etcd is sad")
    assert len(Scripted.seen) == 1
    Scripted.seen.clear()
    Scripted.script = [(503, {}, b"down")]
    r = run_probe(probe, "--kubeconfig", scripted, "request", "GET", "/x", check=0)
    assert parse_request(r.stdout)[0] == 503 and len(Scripted.seen) == 5


def test_body_cap(scripted, probe):
    Scripted.script = [(200, {"Content-Type": "application/json"}, b" " * (64 * 1024 * 1024 + 1))]
    r = run_probe(probe, "--kubeconfig", scripted, "request", "GET", "/big", check=1)
    assert "response larger than 67108864 bytes" in r.stderr, r.stderr
    assert "scripted-secret" not in r.stderr


def test_non_json_body(scripted, probe):
    Scripted.script = [(404, {"Content-Type": "text/plain"}, b"404 page not found\n")]
    r = run_probe(probe, "--kubeconfig", scripted, "request", "GET", "/nope", check=0)
    status, message, body = parse_request(r.stdout)
    assert (status, message) == (404, "not found")
    assert body == "404 page not found"
