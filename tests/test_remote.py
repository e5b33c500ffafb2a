"""Remote vaults against the real servers: MinIO (s3://) and Azurite
(azblob://).

The example vault is uploaded as is, and a mount of each remote copy must
show the same tree as a mount of the local directory: same paths, same
bytes, same sizes and modes. Then the faults: wrong credentials and a
missing bucket fail at mount time (non-zero exit, a message naming the
vault and the HTTP status, no secret anywhere), a truncated tarball is the
backup's problem (same tree as the same bytes locally), a stopped MinIO
gives EIO for what is not cached yet and heals without remounting, and a
small fault-injecting proxy in front of MinIO answers 503 SlowDown or cuts
bodies mid-way (things the real server cannot be made to do on cue)."""

from __future__ import annotations

import errno
import http.client
import http.server
import os
import pathlib
import shutil
import socket
import stat
import subprocess
import threading
import time

import pytest

import util
from servers import harness

ACCT = harness.DEV_ACCOUNT
WEIRD = "shop only \u00e9\u6f22"  # a backup name with spaces and unicode


# --------------------------------------------------------------------------
# helpers


def files_of(root: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def weird_vault(tmp: pathlib.Path) -> pathlib.Path:
    """The example vault plus a copy of shop-only named WEIRD."""
    v = tmp / "weird-vault"
    shutil.copytree(util.SHOP_VAULT, v)
    src = v / "backups" / "shop-only"
    dst = v / "backups" / WEIRD
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name.replace("shop-only", WEIRD)).write_bytes(f.read_bytes())
    return v


def snapshot(root: pathlib.Path) -> dict[str, tuple]:
    """Every path under a mount: (type, mode, size, content or link)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = pathlib.Path(dirpath) / name
            st = os.lstat(p)
            rel = str(p.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", st.st_mode, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d", st.st_mode)
            else:
                out[rel] = ("f", st.st_mode, st.st_size, p.read_bytes())
    return out


def assert_same_tree(local, remote):
    a, b = snapshot(local.path), snapshot(remote.path)
    assert sorted(a) == sorted(b)
    diff = [k for k in a if a[k] != b[k]]
    assert not diff, "differs: %s" % diff[:10]
    assert len(a) > 50


def s3_url(minio, bucket="velero", prefix="", **extra):
    q = {"endpoint": minio.url, "style": "path", "region": minio.region, **extra}
    qs = "&".join("%s=%s" % (k, v) for k, v in q.items())
    return "s3://%s%s?%s" % (bucket, "/" + prefix if prefix else "", qs)


def az_url(azurite, container, prefix="", **extra):
    q = {"endpoint": azurite.endpoint(ACCT), **extra}
    qs = "&".join("%s=%s" % (k, v) for k, v in q.items())
    return "azblob://%s/%s%s?%s" % (ACCT, container, "/" + prefix if prefix else "", qs)


def s3_env(minio, secret=None):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("AWS_") or k.startswith("AZURE_"):
            del e[k]
    e.update(AWS_ACCESS_KEY_ID=minio.access_key,
             AWS_SECRET_ACCESS_KEY=secret or minio.secret_key,
             AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    return e


def az_env(azurite, key=None):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("AWS_") or k.startswith("AZURE_"):
            del e[k]
    e["AZURE_STORAGE_CONNECTION_STRING"] = (
        "DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;"
        % (ACCT, key or azurite.accounts[ACCT], azurite.endpoint(ACCT)))
    return e


@pytest.fixture
def use_env(monkeypatch):
    def apply(env):
        for k in list(os.environ):
            if k not in env:
                monkeypatch.delenv(k)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
    return apply


def upload_s3(minio, bucket, prefix, root):
    minio.make_bucket(bucket)
    for rel, data in files_of(root).items():
        minio.put(bucket, (prefix + "/" if prefix else "") + rel, data)


def upload_az(azurite, container, prefix, root):
    azurite.create_container(ACCT, container)
    for rel, data in files_of(root).items():
        azurite.put_blob(ACCT, container, (prefix + "/" if prefix else "") + rel, data)


@pytest.fixture(scope="module")
def weird(tmp_path_factory):
    return weird_vault(tmp_path_factory.mktemp("remote"))


@pytest.fixture(scope="module")
def s3_vaults(minio, weird):
    upload_s3(minio, "velero", "", util.SHOP_VAULT)
    upload_s3(minio, "velero", "pre/fix", weird)
    return minio


@pytest.fixture(scope="module")
def az_vaults(azurite, weird):
    upload_az(azurite, "velero", "pfx", weird)
    return azurite


def run_cli(velerofs, args, env, timeout=120):
    return subprocess.run([str(velerofs), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


# --------------------------------------------------------------------------
# the same tree over every backend


@pytest.mark.parametrize("prefix", ["", "pre/fix"])
def test_s3_tree_equals_local(mount, s3_vaults, weird, use_env, prefix):
    use_env(s3_env(s3_vaults))
    local = mount(util.SHOP_VAULT if not prefix else weird)
    remote = mount(s3_url(s3_vaults, prefix=prefix))
    assert_same_tree(local, remote)
    if prefix:
        assert (remote / "backups" / WEIRD / "backup.yaml").is_file()


def test_azblob_tree_equals_local(mount, az_vaults, weird, use_env):
    use_env(az_env(az_vaults))
    local = mount(weird)
    remote = mount(az_url(az_vaults, "velero", "pfx"))
    assert_same_tree(local, remote)
    assert (remote / "backups" / WEIRD / "backup.yaml").is_file()


def test_azblob_shared_key_env_and_credentials_file(velerofs, az_vaults, tmp_path):
    env = az_env(az_vaults)
    del env["AZURE_STORAGE_CONNECTION_STRING"]
    url = az_url(az_vaults, "velero", "pfx")
    # AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY
    e2 = dict(env, AZURE_STORAGE_ACCOUNT=ACCT, AZURE_STORAGE_KEY=az_vaults.accounts[ACCT])
    r = run_cli(velerofs, ["ls", "--cache", tmp_path / "c1", url, "backups"], e2)
    assert r.returncode == 0, r.stderr
    assert WEIRD in r.stdout.split("\n")


def test_ls_and_cat_over_s3_and_azblob(velerofs, s3_vaults, az_vaults, weird, tmp_path):
    path = "backups/shop-only/backup.yaml"
    want_ls = run_cli(velerofs, ["ls", "--cache", tmp_path / "l", weird, "backups"], os.environ)
    want_cat = run_cli(velerofs, ["cat", "--cache", tmp_path / "l", weird, path], os.environ)
    assert want_ls.returncode == 0 and want_cat.returncode == 0
    for url, env in ((s3_url(s3_vaults, prefix="pre/fix"), s3_env(s3_vaults)),
                     (az_url(az_vaults, "velero", "pfx"), az_env(az_vaults))):
        r = run_cli(velerofs, ["ls", "--cache", tmp_path / "c", url, "backups"], env)
        assert r.returncode == 0, r.stderr
        assert r.stdout == want_ls.stdout
        r = run_cli(velerofs, ["cat", "--cache", tmp_path / "c", url, path], env)
        assert r.returncode == 0, r.stderr
        assert r.stdout == want_cat.stdout


# --------------------------------------------------------------------------
# credentials and missing locations: fail at mount time


def mount_fails(velerofs, url, env, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir(exist_ok=True)
    r = run_cli(velerofs, ["mount", "-f", "--cache", tmp_path / "cache", url, mnt], env, timeout=60)
    assert not os.path.ismount(mnt)
    assert r.returncode != 0
    return r.stdout + r.stderr


def test_s3_wrong_credentials(velerofs, s3_vaults, tmp_path):
    secret = "wrong-secret-8c2f1e"
    out = mount_fails(velerofs, s3_url(s3_vaults), s3_env(s3_vaults, secret=secret), tmp_path)
    assert "s3://velero" in out and "403" in out and "SignatureDoesNotMatch" in out
    assert secret not in out


def test_s3_wrong_credentials_file(velerofs, s3_vaults, tmp_path):
    """A profile from AWS_SHARED_CREDENTIALS_FILE (the format Velero's AWS plugin reads)."""
    secret = "wrong-secret-from-file-77"
    cred = tmp_path / "cloud"
    cred.write_text("[default]\naws_access_key_id=%s\naws_secret_access_key=%s\n"
                    "[good]\naws_access_key_id=%s\naws_secret_access_key=%s\n"
                    % (s3_vaults.access_key, secret, s3_vaults.access_key, s3_vaults.secret_key))
    env = s3_env(s3_vaults)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(cred)
    out = mount_fails(velerofs, s3_url(s3_vaults), env, tmp_path)
    assert "403" in out and secret not in out
    r = run_cli(velerofs, ["ls", "--cache", tmp_path / "c", s3_url(s3_vaults, profile="good"), "backups"], env)
    assert r.returncode == 0, r.stderr
    assert "shop-only" in r.stdout


def test_s3_missing_bucket(velerofs, s3_vaults, tmp_path):
    out = mount_fails(velerofs, s3_url(s3_vaults, bucket="no-such-bucket"), s3_env(s3_vaults), tmp_path)
    assert "s3://no-such-bucket" in out and "404" in out and "NoSuchBucket" in out


def test_azblob_wrong_key_and_sas(velerofs, az_vaults, tmp_path):
    bad = "d3Jvbmcta2V5LXNlY3JldC0xMjM0NTY3ODkw"  # base64, wrong
    out = mount_fails(velerofs, az_url(az_vaults, "velero", "pfx"), az_env(az_vaults, key=bad), tmp_path)
    assert "azblob://%s/velero/pfx" % ACCT in out and "403" in out
    assert bad not in out
    sas = "sv=2021-08-06%26sig=SASSECRETc0ffee"
    env = az_env(az_vaults)
    del env["AZURE_STORAGE_CONNECTION_STRING"]
    out = mount_fails(velerofs, az_url(az_vaults, "velero", "pfx", sas=sas), env, tmp_path)
    assert "403" in out and "SASSECRET" not in out


def test_azblob_missing_container(velerofs, az_vaults, tmp_path):
    out = mount_fails(velerofs, az_url(az_vaults, "nosuchcontainer"), az_env(az_vaults), tmp_path)
    assert "404" in out and "ContainerNotFound" in out


# --------------------------------------------------------------------------
# a tarball truncated in the store: the backup's problem, as locally


def test_truncated_tarball(mount, s3_vaults, tmp_path, use_env):
    v = tmp_path / "trunc"
    shutil.copytree(util.SHOP_VAULT, v)
    tar = v / "backups" / "shop-only" / "shop-only.tar.gz"
    tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    upload_s3(s3_vaults, "velero", "trunc", v)
    use_env(s3_env(s3_vaults))
    local = mount(v, allow_errors=True)
    remote = mount(s3_url(s3_vaults, prefix="trunc"), allow_errors=True)
    assert (remote / "backups" / "shop-only" / "errors.txt").is_file()
    assert_same_tree(local, remote)


# --------------------------------------------------------------------------
# MinIO stopped and started again


def restart_minio(old: harness.Minio) -> harness.Minio:
    """A new MinIO process on the same data directory and port."""
    m = harness.Minio(workdir=old.dir)
    m.port, m.console_port, m.url = old.port, old.console_port, old.url
    deadline = time.monotonic() + 30
    while not harness.port_is_free(m.port, "127.0.0.1"):
        if time.monotonic() > deadline:
            pytest.fail("port %d still busy" % m.port)
        time.sleep(0.2)
    return m.start()


def test_minio_stopped_and_back(mount, tmp_path, use_env):
    m = harness.Minio(workdir=tmp_path / "minio").start()
    try:
        upload_s3(m, "velero", "", util.SHOP_VAULT)
        use_env(s3_env(m))
        remote = mount(s3_url(m), allow_errors=True)
        seen = remote / "backups" / "shop-only" / "backup.yaml"
        seen_bytes = seen.read_bytes()  # shop-only is now indexed
        m.stop()
        unseen = remote / "backups" / "before-upgrade" / "backup.yaml"
        t0 = time.monotonic()
        with pytest.raises(OSError) as ei:
            unseen.read_bytes()
        assert ei.value.errno == errno.EIO
        assert time.monotonic() - t0 < 30
        assert seen.read_bytes() == seen_bytes  # still served from the cache
        m = restart_minio(m)
        assert unseen.read_bytes()  # no remount needed
        assert remote.alive()
    finally:
        m.stop()


# --------------------------------------------------------------------------
# a fault-injecting proxy in front of MinIO


class FaultProxy:
    """HTTP/1.1 proxy to MinIO. slowdown: answer that many requests with
    503 SlowDown. cut: cut that many GET bodies of *.tar.gz (headers
    announce the full length, then half the body, or none of it for a
    resumed Range request, then the connection closes)."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.slowdown = 0
        self.cut = 0
        self.served_503 = 0
        self.cuts = 0
        self.ranges: list[str] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _take(self, attr):
                with proxy.lock:
                    n = getattr(proxy, attr)
                    if n > 0:
                        setattr(proxy, attr, n - 1)
                        return True
                    return False

            def _forward(self):
                if self._take("slowdown"):
                    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
                            b"<Message>Please reduce your request rate.</Message></Error>")
                    with proxy.lock:
                        proxy.served_503 += 1
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                    return
                if self.headers.get("Range"):
                    with proxy.lock:
                        proxy.ranges.append(self.path)
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                hdrs = {k: v for k, v in self.headers.items()}
                conn.request(self.command, self.path, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
                cut = (self.command == "GET" and resp.status in (200, 206) and self.path.split("?")[0].endswith(".tar.gz")
                       and len(data) > 100 and self._take("cut"))
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                # a HEAD answer announces the object's length, not its own
                self.send_header("Content-Length", resp.getheader("Content-Length", "0")
                                 if self.command == "HEAD" else str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    if cut:
                        # half of a first answer; nothing of a resumed one
                        self.wfile.write(b"" if self.headers.get("Range") else data[: len(data) // 2])
                        self.wfile.flush()
                        with proxy.lock:
                            proxy.cuts += 1
                        self.close_connection = True
                        try:
                            self.connection.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        return
                    self.wfile.write(data)
                conn.close()

            do_GET = do_HEAD = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(s3_vaults):
    p = FaultProxy(s3_vaults.port)
    yield p
    p.close()


def proxied_url(proxy, minio, prefix=""):
    return "s3://velero%s?endpoint=%s&style=path&region=%s" % (
        "/" + prefix if prefix else "", proxy.url, minio.region)


def test_slowdown_twice_then_success(mount, s3_vaults, proxy, use_env):
    use_env(s3_env(s3_vaults))
    proxy.slowdown = 2
    remote = mount(proxied_url(proxy, s3_vaults))
    assert proxy.served_503 == 2
    assert "shop-only" in os.listdir(remote / "backups"), remote.stderr()


def test_slowdown_forever_gives_up_with_a_message(velerofs, s3_vaults, proxy, tmp_path):
    proxy.slowdown = 1000
    out = mount_fails(velerofs, proxied_url(proxy, s3_vaults), s3_env(s3_vaults), tmp_path)
    assert "503" in out and "SlowDown" in out and "attempts" in out
    assert 2 < proxy.served_503 < 20


def test_body_cut_once_is_resumed(mount, s3_vaults, proxy, use_env):
    use_env(s3_env(s3_vaults))
    local = mount(util.SHOP_VAULT)
    remote = mount(proxied_url(proxy, s3_vaults))
    proxy.cut = 1
    p = pathlib.Path("backups") / "daily-20261120020000" / "backup.yaml"
    assert (remote / p).read_bytes() == (local / p).read_bytes()
    assert proxy.cuts == 1 and proxy.ranges  # resumed with a Range request


def test_body_cut_always_gives_eio_then_recovers(mount, s3_vaults, proxy, use_env):
    use_env(s3_env(s3_vaults))
    local = mount(util.SHOP_VAULT)
    remote = mount(proxied_url(proxy, s3_vaults), allow_errors=True)
    proxy.cut = 1000
    p = pathlib.Path("backups") / "daily-20261119020000" / "backup.yaml"
    with pytest.raises(OSError) as ei:
        (remote / p).read_bytes()
    assert ei.value.errno == errno.EIO
    assert proxy.cuts >= 2
    proxy.cut = 0
    assert (remote / p).read_bytes() == (local / p).read_bytes()
    assert_same_tree(local, remote)


def test_credentials_flag(velerofs, s3_vaults, az_vaults, tmp_path):
    """--credentials FILE: the file Velero's plugins read (INI for AWS,
    KEY=VALUE for Azure), with nothing in the environment."""
    s3cred = tmp_path / "cloud"
    s3cred.write_text("[default]\naws_access_key_id=%s\naws_secret_access_key=%s\n"
                      % (s3_vaults.access_key, s3_vaults.secret_key))
    env = {k: v for k, v in s3_env(s3_vaults).items() if not k.startswith("AWS_")}
    r = run_cli(velerofs, ["ls", "--credentials", s3cred, "--cache", tmp_path / "c1",
                           s3_url(s3_vaults), "backups"], env)
    assert r.returncode == 0, r.stderr
    assert "shop-only" in r.stdout.split("\n")
    # the same file with a wrong secret: refused, and the secret never shown
    bad = tmp_path / "bad"
    bad.write_text("[default]\naws_access_key_id=%s\naws_secret_access_key=not-it-91ab\n"
                   % s3_vaults.access_key)
    out = mount_fails_with(velerofs, ["--credentials", bad], s3_url(s3_vaults), env, tmp_path)
    assert "403" in out and "not-it-91ab" not in out
    azcred = tmp_path / "azcred"
    azcred.write_text("AZURE_STORAGE_ACCOUNT_ACCESS_KEY=%s\n" % az_vaults.accounts[ACCT])
    env = {k: v for k, v in az_env(az_vaults).items() if not k.startswith("AZURE_")}
    r = run_cli(velerofs, ["ls", "--credentials", azcred, "--cache", tmp_path / "c2",
                           az_url(az_vaults, "velero", "pfx"), "backups"], env)
    assert r.returncode == 0, r.stderr
    assert WEIRD in r.stdout.split("\n")


def mount_fails_with(velerofs, extra, url, env, tmp_path):
    mnt = tmp_path / "mntx"
    mnt.mkdir(exist_ok=True)
    r = run_cli(velerofs, ["mount", "-f", *extra, "--cache", tmp_path / "cache", url, mnt], env, timeout=60)
    assert not os.path.ismount(mnt)
    assert r.returncode != 0
    return r.stdout + r.stderr


# --------------------------------------------------------------------------
# the real Velero fixtures, and every view, over every backend

FIXTURE = pathlib.Path(__file__).resolve().parent / "fixtures" / "velero-v1.17.2"


@pytest.fixture(scope="module")
def fixture_vaults(minio, azurite):
    upload_s3(minio, "fixtures", "", FIXTURE)
    upload_az(azurite, "fixtures", "bsl", FIXTURE)
    return minio, azurite


@pytest.mark.parametrize("backend", ["s3", "azblob"])
@pytest.mark.parametrize("json_view,args", [(False, []), (False, ["-o", "clean,redact"]),
                                            (True, ["-o", "redact"])])
def test_real_velero_and_views_over_remote(mount, fixture_vaults, use_env, backend, json_view, args):
    """The whole tree (backups/, history/, schedules/) of the real Velero
    fixture, in each view, is the same from MinIO and Azurite as from disk."""
    minio, azurite = fixture_vaults
    if backend == "s3":
        use_env(s3_env(minio))
        url = s3_url(minio, bucket="fixtures")
    else:
        use_env(az_env(azurite))
        url = az_url(azurite, "fixtures", "bsl")
    local = mount(FIXTURE, json=json_view, args=args)
    remote = mount(url, json=json_view, args=args)
    assert_same_tree(local, remote)
    assert (remote / "history" / "namespaces" / "shop").is_dir()


# --------------------------------------------------------------------------
# libcurl, loaded on first use (issue 14): a local vault without a cluster
# never reads it from disk; without a loadable libcurl only remote vaults
# and clusters fail, with a message, never a crash


def libs_of(pid: int) -> set[str]:
    """The basenames of the shared objects mapped into a process."""
    with open("/proc/%d/maps" % pid) as f:
        return {os.path.basename(line.split()[-1]) for line in f if ".so" in line}


def test_libcurl_loaded_only_for_remote_vaults(mount, s3_vaults, use_env, tmp_path):
    r = subprocess.run(["readelf", "-d", str(util.velerofs_binary())], capture_output=True,
                       text=True, check=True)
    assert "NEEDED" in r.stdout and "libcurl" not in r.stdout
    env = s3_env(s3_vaults)
    env.pop("KUBECONFIG", None)
    env["HOME"] = str(tmp_path)  # no ~/.kube/config: no cluster
    use_env(env)
    local = mount(util.SHOP_VAULT)
    remote = mount(s3_url(s3_vaults))
    assert_same_tree(local, remote)
    assert not any(n.startswith("libcurl") for n in libs_of(local.proc.pid))
    assert any(n.startswith("libcurl.so.4") for n in libs_of(remote.proc.pid))


def test_without_libcurl(velerofs, tmp_path):
    """A libcurl.so.4 that cannot be loaded (an empty file found first
    through LD_LIBRARY_PATH): local vaults work, a remote vault or a
    cluster fails to open with dlopen's reason."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "libcurl.so.4").write_bytes(b"")
    kc = tmp_path / "kubeconfig"
    kc.write_text("apiVersion: v1\nkind: Config\ncurrent-context: x\n"
                  "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
                  "users: [{name: u, user: {token: t}}]\n"
                  "contexts: [{name: x, context: {cluster: c, user: u}}]\n")
    env = dict(os.environ, LD_LIBRARY_PATH=str(lib), HOME=str(tmp_path),
               AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b",
               AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    env.pop("KUBECONFIG", None)
    want = "cannot load libcurl.so.4: %s: file too short" % (lib / "libcurl.so.4")
    r = run_cli(velerofs, ["ls", "--cache", tmp_path / "c", util.SHOP_VAULT, "backups"], env)
    assert r.returncode == 0 and "shop-only" in r.stdout.split("\n"), r.stderr
    assert not r.stderr
    for url in ("s3://velero?endpoint=http://127.0.0.1:9&style=path&region=us-east-1",
                "azblob://acct/velero?endpoint=http://127.0.0.1:9"):
        r = run_cli(velerofs, ["ls", "--cache", tmp_path / "c", url, "backups"], env)
        assert r.returncode == 1, (url, r.returncode, r.stderr)
        assert want in r.stderr, r.stderr
    out = mount_fails(velerofs, util.SHOP_VAULT, dict(env, KUBECONFIG=str(kc)), tmp_path)
    assert "the target cluster: " + want in out, out
