"""Start and stop the real test servers on loopback.

Servers: Etcd, KubeApiserver, Minio, Azurite, Velero (server, out of cluster).
Each one runs as a child process in its own process group, on free 127.0.0.1 ports, with its
data in a fresh temporary directory. Every started server is stopped and its directory removed
by stop(), by the context manager, at interpreter exit (atexit), on SIGTERM, and (through
PR_SET_PDEATHSIG) when this Python process dies. Set VELEROFS_KEEP_SERVERS=1 to keep the
directories (logs, certificates, kubeconfig) for debugging.

The binaries come from tests/servers/build.sh (cache root: $VELEROFS_TEST_CACHE, default
~/.cache/velerofs-test). A missing binary raises ServerError telling which build to run.

    from servers.harness import Etcd, KubeApiserver, Minio, Azurite
    with Etcd() as etcd, KubeApiserver(etcd) as kube:
        kube.kubectl("get", "ns")
"""

from __future__ import annotations

import atexit
import base64
import ctypes
import email.utils
import hashlib
import hmac
import html
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("VELEROFS_TEST_CACHE") or Path.home() / ".cache" / "velerofs-test")
KEEP = os.environ.get("VELEROFS_KEEP_SERVERS", "") not in ("", "0")


def _read_versions() -> dict[str, str]:
    out = {}
    for line in (HERE / "versions.env").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        out[k.strip()] = v.strip().strip('"')
    return out


VERSIONS = _read_versions()
ETCD_VERSION = VERSIONS["ETCD_VERSION"]
KUBE_VERSION = VERSIONS["KUBE_VERSION"]
MINIO_VERSION = VERSIONS["MINIO_VERSION"]
AZURITE_VERSION = VERSIONS["AZURITE_VERSION"]
VELERO_VERSIONS = VERSIONS["VELERO_VERSIONS"].split()
VELERO_VERSION = VELERO_VERSIONS[0]
VELERO_PLUGIN_AWS_VERSION = VERSIONS["VELERO_PLUGIN_AWS_VERSION"]
PVBWRITER_OLD_VERSIONS = VERSIONS.get("PVBWRITER_OLD_VERSIONS", "").split()


class ServerError(RuntimeError):
    """A server could not be started (message holds the tail of its log)."""


def binary(name: str, version: str | None = None) -> Path:
    """Path of a cached binary; raises ServerError naming the build to run if it is missing."""
    table = {
        "etcd": (f"etcd-{ETCD_VERSION}/bin/etcd", "etcd"),
        "etcdctl": (f"etcdctl-{ETCD_VERSION}/bin/etcdctl", "etcdctl"),
        "etcdutl": (f"etcdctl-{ETCD_VERSION}/bin/etcdutl", "etcdctl"),
        "kube-apiserver": (f"kube-{KUBE_VERSION}/bin/kube-apiserver", "kube"),
        "kubectl": (f"kube-{KUBE_VERSION}/bin/kubectl", "kube"),
        "minio": (f"minio-{MINIO_VERSION}/bin/minio", "minio"),
        "azurite-blob": (f"azurite-{AZURITE_VERSION}/node_modules/.bin/azurite-blob", "azurite"),
        "velero": (f"velero-{version or VELERO_VERSION}/bin/velero", "velero"),
        "velero-plugins": (f"velero-plugin-for-aws-{VELERO_PLUGIN_AWS_VERSION}/plugins", "plugin"),
        "pvbwriter": (f"pvbwriter-{version or VELERO_VERSION}/bin/pvbwriter",
                      "pvbwriter" if (version or VELERO_VERSION) == VELERO_VERSION else "pvbwriter-old"),
    }
    rel, target = table[name]
    p = CACHE / rel
    if not p.exists():
        raise ServerError(f"{p} is missing: run tests/servers/build.sh {target}")
    return p


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int, host: str = "") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


# ---------------------------------------------------------------------------------------------
# process bookkeeping

_LIVE: "set[Server]" = set()
_LIVE_LOCK = threading.Lock()
_libc = None


def _pdeathsig():  # runs in the child between fork and exec
    if _libc is not None:
        _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


try:
    _libc = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:  # not Linux/glibc: rely on atexit only
    _libc = None


def stop_all() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    # stop in reverse start order (velero before kube before etcd)
    for s in sorted(live, key=lambda s: -s._seq):
        try:
            s.stop()
        except Exception as e:  # pragma: no cover - best effort at exit
            print(f"harness: stopping {s.name}: {e}", file=sys.stderr)


atexit.register(stop_all)


def _on_sigterm(signum, frame):
    stop_all()
    # KeyboardInterrupt, not SystemExit: pytest then ends the whole session instead of
    # reporting the exception as one fixture error and going on
    raise KeyboardInterrupt(f"signal {signum}")


if threading.current_thread() is threading.main_thread():
    for _sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(_sig) in (signal.SIG_DFL, None):
            signal.signal(_sig, _on_sigterm)

_SEQ = [0]


class Server:
    """Base: a child process with a temp dir, a log file and a readiness probe."""

    name = "server"
    start_timeout = 60.0

    def __init__(self, workdir: str | os.PathLike | None = None):
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"velerofs-{self.name}-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self._own_dir = workdir is None
        self.proc: subprocess.Popen | None = None
        self.log_path = self.dir / f"{self.name}.log"
        self._log = None
        _SEQ[0] += 1
        self._seq = _SEQ[0]

    # subclasses implement
    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def ready(self) -> bool:
        raise NotImplementedError

    def after_start(self) -> None:
        pass

    # lifecycle
    def start(self) -> "Server":
        if self.proc is not None:
            return self
        argv = self.argv()
        self._log = open(self.log_path, "ab")
        self._log.write(("$ " + " ".join(argv) + "\n").encode())
        self._log.flush()
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self.proc = subprocess.Popen(
                argv, cwd=self.dir, env=self.env(), stdin=subprocess.DEVNULL,
                stdout=self._log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_pdeathsig)
        except OSError as e:
            self.stop()
            raise ServerError(f"{self.name}: cannot run {argv[0]}: {e}") from e
        deadline = time.monotonic() + self.start_timeout
        last_err: Exception | None = None
        while True:
            rc = self.proc.poll()
            if rc is not None:
                tail = self.log_tail()
                self.stop()
                raise ServerError(f"{self.name} exited with status {rc} while starting; log tail:\n{tail}")
            try:
                if self.ready():
                    break
            except Exception as e:  # not ready yet
                last_err = e
            if time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise ServerError(f"{self.name} not ready after {self.start_timeout:.0f}s "
                                  f"(last probe error: {last_err}); log tail:\n{tail}")
            time.sleep(0.2)
        try:
            self.after_start()
        except Exception as e:
            tail = self.log_tail()
            self.stop()
            raise ServerError(f"{self.name}: setup after start failed: {e}; log tail:\n{tail}") from e
        return self

    def stop(self, keep_dir: bool = False, hard: bool = False) -> None:
        """Stops the server; keep_dir keeps its directory (data, keys) so that
        start() brings the same server back (an outage, not a new server).
        hard: SIGKILL at once, a crash (a graceful stop keeps serving for a
        while: kube-apiserver drains its requests first)."""
        p = self.proc
        self.proc = None
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL if hard else signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=10)
        if p is not None:
            # children that outlived the leader (velero plugins) go too
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._log:
            self._log.close()
            self._log = None
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self._own_dir and not KEEP and not keep_dir and self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        try:
            data = self.log_path.read_bytes()[-64 * 1024:]
        except OSError:
            return "(no log)"
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<{type(self).__name__} dir={self.dir} running={self.running}>"


def _http_ok(url: str, ctx: ssl.SSLContext | None = None, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as r:
            return r.status == 200
    except urllib.error.HTTPError:
        return False


class CommandError(subprocess.CalledProcessError):
    def __str__(self):
        return (super().__str__() + f"\nstdout: {(self.stdout or '')[-2000:]}"
                f"\nstderr: {(self.stderr or '')[-2000:]}")


def run(argv: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
    """subprocess.run with captured text output; on failure the error shows stdout+stderr."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    r = subprocess.run([str(a) for a in argv], **kw)
    if check and r.returncode != 0:
        raise CommandError(r.returncode, r.args, r.stdout, r.stderr)
    return r


# ---------------------------------------------------------------------------------------------
# etcd

class Etcd(Server):
    name = "etcd"
    version = ETCD_VERSION

    def __init__(self, workdir=None):
        super().__init__(workdir)
        self.port = free_port()
        self.peer_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def argv(self):
        peer = f"http://127.0.0.1:{self.peer_port}"
        return [str(binary("etcd")), "--name", "default", "--data-dir", str(self.dir / "data"),
                "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"default={peer}", "--unsafe-no-fsync",
                "--listen-metrics-urls", f"http://127.0.0.1:{free_port()}",
                "--log-level", "warn"]

    def ready(self):
        with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
            return json.load(r).get("health") == "true"

    def snapshot_save(self, path: str | os.PathLike) -> Path:
        """`etcdctl snapshot save` of this etcd into path (the etcd-snapshot tests and fixtures)."""
        path = Path(path)
        run([binary("etcdctl"), "--endpoints", self.url, "snapshot", "save", path])
        return path


# ---------------------------------------------------------------------------------------------
# kube-apiserver

def _key(name: str, size: int = 32) -> str:
    """A fixed test key (base64), the same in every run, so that a snapshot's values can be
    decrypted with the committed configuration."""
    return base64.b64encode(hashlib.sha256(f"velerofs-test-{name}".encode()).digest()[:size]).decode()


ENCRYPTED_CRS = "widgets.crypt.velerofs.test"  # a custom resource encrypted at rest (JSON inside)


def encryption_config(rotated: bool = False) -> dict:
    """An EncryptionConfiguration (apiserver.config.k8s.io/v1) that puts all three local providers
    in one etcd: Secrets with aescbc, ConfigMaps with aesgcm, ServiceAccounts, Deployments and the
    custom resource ENCRYPTED_CRS with secretbox; each provider with a current and an older key of
    other sizes, identity last (objects written before encryption stay readable).

    rotated=True: the same keys, with the second key of each provider first and an aesgcm
    provider before aescbc for Secrets (new writes use those; old values still decrypt)."""
    cbc = {"aescbc": {"keys": [{"name": "cbc-key-2026", "secret": _key("cbc-2026")},
                               {"name": "cbc-key-old", "secret": _key("cbc-old", 16)}]}}
    gcm = {"aesgcm": {"keys": [{"name": "gcm-key-2026", "secret": _key("gcm-2026")},
                               {"name": "gcm-key-old", "secret": _key("gcm-old", 24)}]}}
    box = {"secretbox": {"keys": [{"name": "box-key-2026", "secret": _key("box-2026")},
                                  {"name": "box-key-old", "secret": _key("box-old")}]}}
    ident = {"identity": {}}
    if rotated:
        def rot(p):
            (kind, v), = p.items()
            return {kind: {"keys": v["keys"][::-1]}}
        cbc, gcm, box = rot(cbc), rot(gcm), rot(box)
        secrets = [gcm, cbc, ident]
    else:
        secrets = [cbc, ident]
    return {
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
        "resources": [
            {"resources": ["secrets"], "providers": secrets},
            {"resources": ["configmaps"], "providers": [gcm, ident]},
            {"resources": ["serviceaccounts", "deployments.apps", ENCRYPTED_CRS],
             "providers": [box, ident]},
        ],
    }


def _openssl(*args, cwd):
    run(["openssl", *args], cwd=cwd)


class KubeApiserver(Server):
    """kube-apiserver on 127.0.0.1 with TLS, RBAC and four users.

    Users (kubeconfig contexts of the same names):
      admin       client certificate CN=admin, O=system:masters (bypasses RBAC)
      token-admin bearer token, group system:masters
      viewer      bearer token, group velerofs:viewers, bound to ClusterRole velerofs:viewer
                  (get/list/watch on everything)
      nobody      bearer token, no bindings (RBAC denies nearly everything)
    Attributes: url, port, ca_file, kubeconfig (path), tokens {user: token},
    client_cert/client_key (admin), version.
    """

    name = "kube-apiserver"
    version = KUBE_VERSION
    start_timeout = 120.0
    USERS = ("admin", "token-admin", "viewer", "nobody")

    def __init__(self, etcd: Etcd, workdir=None, extra_args: list[str] | None = None,
                 disable_admission: str = "ServiceAccount", encryption: dict | bool | None = None,
                 etcd_prefix: str | None = None):
        super().__init__(workdir)
        self.etcd = etcd
        # encryption at rest: True = encryption_config() (aescbc, aesgcm and secretbox all in use),
        # or an EncryptionConfiguration dict; written to <dir>/encryption-config.yaml
        self.encryption = encryption_config() if encryption is True else (encryption or None)
        self.encryption_file = self.dir / "encryption-config.yaml"
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.extra_args = list(extra_args or [])
        self.disable_admission = disable_admission
        self.pki = self.dir / "pki"
        self.ca_file = self.pki / "ca.crt"
        self.client_cert = self.pki / "admin.crt"
        self.client_key = self.pki / "admin.key"
        self.kubeconfig = self.dir / "kubeconfig"
        self.etcd_prefix = etcd_prefix or f"/registry-{os.urandom(4).hex()}"  # kept across stop/start
        self.tokens = {
            "token-admin": "velerofs-token-admin-" + os.urandom(8).hex(),
            "viewer": "velerofs-token-viewer-" + os.urandom(8).hex(),
            "nobody": "velerofs-token-nobody-" + os.urandom(8).hex(),
        }
        self._ssl = None

    def _make_pki(self):
        d = self.pki
        d.mkdir(parents=True, exist_ok=True)
        (d / "cert-dir").mkdir(exist_ok=True)
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj", "/CN=velerofs-test-ca",
                 "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
        (d / "server.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
            "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.0.0.1\n"
            "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
        (d / "client.ext").write_text("extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
        for name, subj, ext in (("apiserver", "/CN=kube-apiserver", "server.ext"),
                                ("admin", "/O=system:masters/CN=admin", "client.ext")):
            _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj,
                     "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
            _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                     "-CAcreateserial", "-days", "3", "-extfile", ext, "-out", f"{name}.crt", cwd=d)
        _openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
        _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
        groups = {"token-admin": "system:masters", "viewer": "velerofs:viewers", "nobody": ""}
        (d / "tokens.csv").write_text("".join(
            f'{tok},{user},{user}-uid,"{groups[user]}"\n' for user, tok in self.tokens.items()))

    def argv(self):
        if not self.ca_file.exists():  # once: a restart is the same server
            self._make_pki()
        d = self.pki
        return [str(binary("kube-apiserver")),
                f"--etcd-servers={self.etcd.url}",
                f"--etcd-prefix={self.etcd_prefix}",
                "--bind-address=127.0.0.1", f"--secure-port={self.port}",
                f"--cert-dir={d / 'cert-dir'}",
                f"--tls-cert-file={d / 'apiserver.crt'}", f"--tls-private-key-file={d / 'apiserver.key'}",
                f"--client-ca-file={self.ca_file}", f"--token-auth-file={d / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={d / 'sa.pub'}",
                f"--service-account-signing-key-file={d / 'sa.key'}",
                f"--disable-admission-plugins={self.disable_admission}",
                "--profiling=false", "-v=1",
                *self._encryption_args(),
                *self.extra_args]

    def _encryption_args(self) -> list[str]:
        if not self.encryption:
            return []
        self.encryption_file.write_text(json.dumps(self.encryption, indent=2) + "\n")
        return [f"--encryption-provider-config={self.encryption_file}",
                "--encryption-provider-config-automatic-reload=false"]

    def set_encryption(self, config: dict | None) -> None:
        """Restarts the server with another EncryptionConfiguration (a key rotation: new writes use
        the config's first provider of each resource; the old keys stay listed to read the rest).
        Same etcd, prefix, PKI and port."""
        self.encryption = config
        self.stop(keep_dir=True)
        self.start()

    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=str(self.ca_file))
        return self._ssl

    def ready(self):
        return _http_ok(self.url + "/readyz", self.ssl_context())

    def after_start(self):
        self._write_kubeconfig()
        # the viewer user may read everything, the nobody user may do nothing. (The built-in
        # ClusterRole `view` is empty here: aggregation is done by kube-controller-manager.)
        self.apply({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "velerofs:viewer"},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}],
        }, {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "velerofs:viewers"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "velerofs:viewer"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "velerofs:viewers"}],
        })

    def _write_kubeconfig(self):
        users = [f"- name: admin\n  user:\n    client-certificate: {self.client_cert}\n"
                 f"    client-key: {self.client_key}\n"]
        users += [f"- name: {u}\n  user:\n    token: {t}\n" for u, t in self.tokens.items()]
        contexts = [f"- name: {u}\n  context:\n    cluster: velerofs-test\n    user: {u}\n"
                    for u in self.USERS]
        self.kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: velerofs-test\n  cluster:\n    server: {self.url}\n"
            f"    certificate-authority: {self.ca_file}\n"
            "users:\n" + "".join(users) +
            "contexts:\n" + "".join(contexts) +
            "current-context: admin\npreferences: {}\n")

    # helpers -----------------------------------------------------------------------------
    def kubectl(self, *args, user: str = "admin", check: bool = True, input: str | None = None,
                timeout: float = 300):
        return run([binary("kubectl"), f"--kubeconfig={self.kubeconfig}", f"--context={user}", *args],
                   check=check, input=input, env={**os.environ, "HOME": str(self.dir)}, timeout=timeout)

    def request(self, method: str, path: str, body=None, user: str = "token-admin",
                content_type: str = "application/json"):
        """Plain HTTPS request with a bearer token; returns (status, parsed JSON or text)."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if user == "admin":
            ctx = ssl.create_default_context(cafile=str(self.ca_file))
            ctx.load_cert_chain(str(self.client_cert), str(self.client_key))
        else:
            ctx = self.ssl_context()
            req.add_header("Authorization", "Bearer " + self.tokens[user])
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def apply(self, *objs: dict, user: str = "admin"):
        """kubectl apply (server side) of dicts."""
        doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)})
        return self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=doc, user=user)


# ---------------------------------------------------------------------------------------------
# MinIO (S3)

class Minio(Server):
    """MinIO server. Attributes: url (http://127.0.0.1:PORT), access_key, secret_key, region."""

    name = "minio"
    version = MINIO_VERSION
    access_key = "velerotest"
    secret_key = "velerotest-secret"
    region = "us-east-1"

    def __init__(self, workdir=None, buckets: tuple[str, ...] = ("velero",)):
        super().__init__(workdir)
        self.port = free_port()
        self.console_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.initial_buckets = tuple(buckets)

    def argv(self):
        return [str(binary("minio")), "server", "--quiet", "--address", f"127.0.0.1:{self.port}",
                "--console-address", f"127.0.0.1:{self.console_port}", str(self.dir / "data")]

    def env(self):
        e = dict(os.environ)
        e.update(MINIO_ROOT_USER=self.access_key, MINIO_ROOT_PASSWORD=self.secret_key,
                 MINIO_BROWSER="off", MINIO_UPDATE="off", MINIO_CALLHOME_ENABLE="off",
                 HOME=str(self.dir))
        return e

    def ready(self):
        return _http_ok(self.url + "/minio/health/ready")

    def after_start(self):
        for b in self.initial_buckets:
            self.make_bucket(b)

    def s3(self, method: str, path: str, data: bytes | None = None, headers: dict | None = None,
           check: bool = True) -> tuple[int, bytes]:
        """A SigV4-signed request made by curl (--aws-sigv4). path: '/bucket/key?query'."""
        argv = ["curl", "-sS", "-X", method, "--aws-sigv4", f"aws:amz:{self.region}:s3",
                "-u", f"{self.access_key}:{self.secret_key}", "-o", "-", "-w", "\n%{http_code}"]
        # curl 7.88 does not send x-amz-content-sha256; without it MinIO assumes an empty payload
        hdrs = {"x-amz-content-sha256": hashlib.sha256(data or b"").hexdigest(), **(headers or {})}
        for k, v in hdrs.items():
            argv += ["-H", f"{k}: {v}"]
        if data is not None:
            argv += ["--data-binary", "@-", "-H", "Content-Type: application/octet-stream"]
        argv.append(self.url + path)
        r = subprocess.run(argv, input=data if data is not None else b"", capture_output=True)
        if r.returncode != 0:
            raise ServerError(f"curl {method} {path}: {r.stderr.decode()}")
        body, _, code = r.stdout.rpartition(b"\n")
        status = int(code)
        if check and status >= 300:
            raise ServerError(f"S3 {method} {path}: HTTP {status}: {body[:500]!r}")
        return status, body

    def make_bucket(self, bucket: str):
        # MinIO answers its health check a moment before it serves requests
        # ("XMinioServerNotInitialized", 503): wait for it, a few seconds at most
        deadline = time.monotonic() + 20
        while True:
            status, body = self.s3("PUT", f"/{bucket}", check=False)
            if status == 503 and b"XMinioServerNotInitialized" in body and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            break
        if status >= 300 and b"BucketAlreadyOwnedByYou" not in body:
            raise ServerError(f"create bucket {bucket}: HTTP {status}: {body[:300]!r}")

    def list_keys(self, bucket: str, prefix: str = "", max_keys: int = 1000) -> list[str]:
        """All keys under prefix (ListObjectsV2, paginated by max_keys)."""
        keys, token = [], None
        while True:
            q = {"list-type": "2", "prefix": prefix, "max-keys": str(max_keys)}
            if token:
                q["continuation-token"] = token
            qs = urllib.parse.urlencode(sorted(q.items()), quote_via=urllib.parse.quote, safe="-_.~")
            _, body = self.s3("GET", f"/{bucket}?{qs}")
            text = body.decode()
            keys += [html.unescape(k) for k in re.findall(r"<Key>(.*?)</Key>", text)]
            m = re.search(r"<NextContinuationToken>(.*?)</NextContinuationToken>", text)
            if "<IsTruncated>true</IsTruncated>" in text and m:
                token = html.unescape(m.group(1))
            else:
                return keys

    def get(self, bucket: str, key: str) -> bytes:
        return self.s3("GET", f"/{bucket}/" + urllib.parse.quote(key, safe="/-_.~"))[1]

    def put(self, bucket: str, key: str, data: bytes):
        self.s3("PUT", f"/{bucket}/" + urllib.parse.quote(key, safe="/-_.~"), data=data)


# ---------------------------------------------------------------------------------------------
# Azurite (Azure Blob)

DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURE_API_VERSION = "2021-08-06"


class Azurite(Server):
    """Azurite blob service (in memory). Accounts: the well-known devstoreaccount1 and `velerotest`.

    Attributes: url (http://127.0.0.1:PORT), accounts {name: base64 key},
    endpoint(account) -> 'http://127.0.0.1:PORT/<account>', connection_string(account).
    """

    name = "azurite"
    version = AZURITE_VERSION
    extra_account = "velerotest"
    extra_key = base64.b64encode(b"velerofs-test-azurite-account-key-" + b"k" * 30).decode()

    def __init__(self, workdir=None):
        super().__init__(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.accounts = {DEV_ACCOUNT: DEV_KEY, self.extra_account: self.extra_key}

    def argv(self):
        return [str(binary("azurite-blob")), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                "--inMemoryPersistence", "--extentMemoryLimit", "256",
                "--loose", "--skipApiVersionCheck", "--disableTelemetry"]

    def env(self):
        e = dict(os.environ)
        # listing devstoreaccount1 explicitly keeps it: AZURITE_ACCOUNTS otherwise replaces it
        e["AZURITE_ACCOUNTS"] = ";".join(f"{a}:{k}" for a, k in self.accounts.items())
        e["HOME"] = str(self.dir)
        return e

    def ready(self):
        if "successfully listens on" not in self.log_path.read_text(errors="replace"):
            return False
        with socket.create_connection(("127.0.0.1", self.port), timeout=2):
            return True

    def endpoint(self, account: str = DEV_ACCOUNT) -> str:
        return f"{self.url}/{account}"

    def connection_string(self, account: str = DEV_ACCOUNT) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={self.accounts[account]};"
                f"BlobEndpoint={self.endpoint(account)};")

    def request(self, method: str, account: str, path: str, body: bytes = b"",
                headers: dict | None = None, query: dict | None = None) -> tuple[int, dict, bytes]:
        """A SharedKey-signed Blob request. path: '/container[/blob]' (unquoted)."""
        return azure_blob_request(self.endpoint(account), account, self.accounts[account],
                                  method, path, body, headers, query)

    def create_container(self, account: str, container: str):
        st, _, body = self.request("PUT", account, f"/{container}", query={"restype": "container"})
        if st not in (201, 409):
            raise ServerError(f"create container {container}: HTTP {st}: {body[:300]!r}")

    def put_blob(self, account: str, container: str, name: str, data: bytes):
        st, _, body = self.request("PUT", account, f"/{container}/{name}", data,
                                   headers={"x-ms-blob-type": "BlockBlob"})
        if st != 201:
            raise ServerError(f"put blob {name}: HTTP {st}: {body[:300]!r}")

    def get_blob(self, account: str, container: str, name: str) -> bytes:
        st, _, body = self.request("GET", account, f"/{container}/{name}")
        if st != 200:
            raise ServerError(f"get blob {name}: HTTP {st}: {body[:300]!r}")
        return body


def azure_blob_request(endpoint: str, account: str, key_b64: str, method: str, path: str,
                       body: bytes = b"", headers: dict | None = None,
                       query: dict | None = None) -> tuple[int, dict, bytes]:
    """Azure Storage SharedKey authorization (2009-09-19 and later scheme), path-style URLs."""
    hdrs = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": AZURE_API_VERSION}
    hdrs.update(headers or {})
    if body or method in ("PUT", "POST"):
        hdrs["Content-Length"] = str(len(body))
        # urllib would add its own form Content-Type, which must be part of the signature
        if not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = "application/octet-stream"
    query = query or {}
    qpath = urllib.parse.quote(path)
    url = endpoint + qpath + ("?" + urllib.parse.urlencode(query) if query else "")
    low = {k.lower(): str(v) for k, v in hdrs.items()}
    length = low.get("content-length", "")
    if length == "0":
        length = ""
    std = [method, low.get("content-encoding", ""), low.get("content-language", ""), length,
           low.get("content-md5", ""), low.get("content-type", ""), "",  # Date: x-ms-date is used
           low.get("if-modified-since", ""), low.get("if-match", ""), low.get("if-none-match", ""),
           low.get("if-unmodified-since", ""), low.get("range", "")]
    canon_headers = "".join(f"{k}:{low[k].strip()}\n" for k in sorted(low) if k.startswith("x-ms-"))
    # path-style: the resource is /<account>/<account>/<container>/<blob> (account, then the URI path)
    canon_res = f"/{account}" + urllib.parse.urlparse(endpoint).path + qpath
    for k in sorted(query, key=str.lower):
        canon_res += f"\n{k.lower()}:{query[k]}"
    string_to_sign = "\n".join(std) + "\n" + canon_headers + canon_res
    sig = base64.b64encode(hmac.new(base64.b64decode(key_b64), string_to_sign.encode(),
                                    hashlib.sha256).digest()).decode()
    req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None, method=method)
    for k, v in hdrs.items():
        req.add_header(k, v)
    req.add_header("Authorization", f"SharedKey {account}:{sig}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


# ---------------------------------------------------------------------------------------------
# Velero (server run out of cluster, CLI)

class Velero(Server):
    """`velero server` run out of the cluster against `kube`, with MinIO as the default BSL.

    Call install() (CRDs, namespace, credentials Secret, BSL) before start(); start() waits for
    the BSL to become Available. controller-runtime inside velero binds :8080 on all interfaces
    and no flag changes that, so only one Velero server can run per host at a time.
    """

    name = "velero"
    start_timeout = 180.0

    def __init__(self, kube: KubeApiserver, minio: Minio, version: str | None = None, bucket: str = "velero",
                 namespace: str = "velero", features: str = "", extra_args: list[str] | None = None,
                 workdir=None):
        super().__init__(workdir)
        self.kube, self.minio, self.bucket, self.namespace = kube, minio, bucket, namespace
        self.version = version or VELERO_VERSION
        self.features = features
        self.extra_args = list(extra_args or [])
        self.metrics_port = free_port()
        self.home = self.dir / "home"
        self.home.mkdir(exist_ok=True)
        (self.dir / "tmp").mkdir(exist_ok=True)

    def env(self):
        e = dict(os.environ)
        e.update(HOME=str(self.home), TMPDIR=str(self.dir / "tmp"), KUBECONFIG=str(self.kube.kubeconfig),
                 VELERO_NAMESPACE=self.namespace)
        e.pop("AWS_SHARED_CREDENTIALS_FILE", None)
        return e

    def cli(self, *args, check: bool = True, timeout: float | None = 600) -> subprocess.CompletedProcess:
        return run([binary("velero", self.version), *args, "--kubeconfig", self.kube.kubeconfig,
                    "-n", self.namespace], check=check, env=self.env(), timeout=timeout)

    def install(self, bsl_name: str = "default", in_cluster_objects: bool = True):
        """CRDs (velero install --crds-only), namespace, credentials Secret, BSL.

        in_cluster_objects: also create the ServiceAccount, ClusterRoleBinding and Deployment that
        `velero install` would create (taken from its --dry-run output), so that backups of the
        cluster look like those of a real installation. Nothing runs that Deployment (no kubelet).
        """
        self.cli("install", "--crds-only")
        self.kube.kubectl("create", "namespace", self.namespace, check=False)
        creds = (f"[default]\naws_access_key_id={self.minio.access_key}\n"
                 f"aws_secret_access_key={self.minio.secret_key}\n")
        if in_cluster_objects:
            cf = self.dir / "credentials-velero"
            cf.write_text(creds)
            out = self.cli("install", "--provider", "aws", "--bucket", self.bucket, "--secret-file", cf,
                           "--plugins", f"velero/velero-plugin-for-aws:{VELERO_PLUGIN_AWS_VERSION}",
                           "--backup-location-config",
                           f"region=minio,s3ForcePathStyle=true,s3Url={self.minio.url}",
                           "--use-volume-snapshots=false", "--dry-run", "-o", "json").stdout
            items = [i for i in json.loads(out)["items"]
                     if i["kind"] in ("ServiceAccount", "ClusterRoleBinding", "Deployment")]
            self.kube.apply(*items)
        self.kube.apply({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                         "metadata": {"name": "cloud-credentials", "namespace": self.namespace},
                         "stringData": {"cloud": creds}})
        # wait until the CRDs are served
        deadline = time.monotonic() + 60
        while self.kube.kubectl("get", "backupstoragelocations.velero.io", "-n", self.namespace,
                                check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise ServerError("velero CRDs not served after 60s")
            time.sleep(0.5)
        self.kube.apply({
            "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": bsl_name, "namespace": self.namespace},
            "spec": {"provider": "aws", "default": True,
                     "objectStorage": {"bucket": self.bucket},
                     "credential": {"name": "cloud-credentials", "key": "cloud"},
                     "config": {"region": "minio", "s3ForcePathStyle": "true", "s3Url": self.minio.url}}})

    def argv(self):
        if not port_is_free(8080):
            raise ServerError("port 8080 is busy: velero's controller-runtime metrics server binds :8080 "
                              "(no flag changes it); stop whatever holds it")
        a = [str(binary("velero", self.version)), "server", "--kubeconfig", str(self.kube.kubeconfig),
             "--namespace", self.namespace, "--plugin-dir", str(binary("velero-plugins")),
             "--metrics-address", f"127.0.0.1:{self.metrics_port}",
             "--profiler-address", f"127.0.0.1:{free_port()}", "--log-level", "debug"]
        if self.features:
            a.append(f"--features={self.features}")
        return a + self.extra_args

    def ready(self):
        # this process validated the BSL (a BSL left Available by an earlier server proves nothing)
        text = self.log_path.read_text(errors="replace")
        if "Server starting..." not in text or "BackupStorageLocations is valid" not in text:
            return False
        r = self.kube.kubectl("get", "backupstoragelocations.velero.io", "-n", self.namespace, "-o",
                              "jsonpath={range .items[*]}{.status.phase}{\"\\n\"}{end}", check=False)
        phases = r.stdout.split()
        return bool(phases) and all(p == "Available" for p in phases)
