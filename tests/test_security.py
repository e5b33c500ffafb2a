"""Issue 16: velerofs's own files and secrets (the real binary, mounted).

* directories velerofs keeps files in are its user's own, or it refuses to
  start (cache, restore state);
* `cache prune` and `-o cache_size` delete only velerofs's own entries, and
  pruning everything is an explicit choice;
* secrets given in a vault URL never stay in the daemon's argv and are
  never printed;
* a mount point that is mounted, dead, or not a directory;
* the local vault does not follow symbolic links out of the vault nor
  block on a FIFO."""

import gzip
import json
import os
import pathlib
import shutil
import subprocess
import urllib.parse

import pytest

import util


def vfs(velerofs, *args, **kw):
    r = util.run([velerofs, *args], **kw)
    err = r.stderr.decode("utf-8", "replace")
    assert not util.SANITIZER_RE.search(err), err
    return r


def mount_fails(velerofs, *args, mnt):
    """`velerofs mount -f ... MNT` that must fail; never leaves a mount
    behind, even when it wrongly succeeds (a build without the fix)."""
    before = len(util.mount_ids(mnt))
    try:
        r = vfs(velerofs, "mount", "-f", *args, mnt, timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("velerofs mount %s did not fail" % (args,))
    finally:
        for _ in range(len(util.mount_ids(mnt)) - before):
            subprocess.run([util.fusermount(), "-u", "-z", str(mnt)], capture_output=True)
    assert r.returncode != 0
    return r


def tree(d: pathlib.Path) -> dict:
    return {str(p.relative_to(d)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in d.rglob("*")}


# --------------------------------------------------------------------------
# the cache deletes only its own files


def test_cache_prune_in_a_home_directory_deletes_nothing_foreign(velerofs, shop_vault, tmp_path):
    """`velerofs cache prune --cache ~`: a directory velerofs did not make is
    not pruned, whatever its files are named; with --max 0 neither."""
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "thesis.tex").write_text("years of work\n")
    (home / "idx").mkdir()
    (home / "idx" / "budget.idx").write_text("a spreadsheet\n")
    (home / "idx" / ("0" * 64 + ".idx")).write_text("named like an entry\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("not in the cache\n")
    (home / "link.idx").symlink_to(outside)
    os.chmod(home, 0o700)
    before = tree(home)
    for args in (["prune", "--all"], ["prune", "--max", "0"], ["prune", "--max", "1K"]):
        r = vfs(velerofs, "cache", "--cache", home, *args)
        assert r.returncode != 0, args
        assert b"CACHEDIR.TAG" in r.stderr, r.stderr
        after = tree(home)
        assert {k: after.get(k) for k in before} == before, args
    assert outside.read_text() == "not in the cache\n"
    # browsing with it as the cache works and leaves the user's files be
    r = vfs(velerofs, "ls", "--cache", home, shop_vault, "backups/latest/namespaces")
    assert r.returncode == 0, r.stderr
    for k, v in before.items():
        assert (home / k).exists() or (home / k).is_symlink(), k
        if v is not None:
            assert (home / k).read_bytes() == v
    # and -o cache_size refuses to start there
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = mount_fails(velerofs, "--cache", home, "-o", "cache_size=1K", shop_vault, mnt=mnt)
    assert b"CACHEDIR.TAG" in r.stderr, r.stderr
    assert not os.path.ismount(mnt)


def test_cache_prune_in_its_own_directory_spares_foreign_files(velerofs, shop_vault, tmp_path):
    cache = tmp_path / "c"
    r = vfs(velerofs, "ls", "--cache", cache, shop_vault, "backups/latest/namespaces")
    assert r.returncode == 0
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    (cache / "notes.txt").write_text("mine\n")
    (cache / "idx" / "notes.idx").write_text("mine too\n")
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (cache / "idx" / ("1" * 64 + ".idx")).symlink_to(victim)
    r = vfs(velerofs, "cache", "--cache", cache, "prune")
    assert r.returncode == 2 and b"--all" in r.stderr
    assert len(list((cache / "idx").glob("*.idx"))) == 3
    r = vfs(velerofs, "cache", "--cache", cache, "prune", "--all")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (cache / "idx").iterdir()) == sorted(["notes.idx", "1" * 64 + ".idx"])
    assert (cache / "notes.txt").read_text() == "mine\n"
    assert victim.read_text() == "keep\n"


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702])
def test_world_writable_cache_is_refused(velerofs, shop_vault, tmp_path, mode):
    cache = tmp_path / "c"
    cache.mkdir()
    os.chmod(cache, mode)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = mount_fails(velerofs, "--cache", cache, shop_vault, mnt=mnt)
    assert b"written by others" in r.stderr and b"chmod go-w" in r.stderr, r.stderr
    assert not os.path.ismount(mnt)
    r = vfs(velerofs, "ls", "--cache", cache, shop_vault, "backups")
    assert r.returncode != 0 and b"written by others" in r.stderr


def test_cache_that_is_someone_elses_is_refused(velerofs, shop_vault, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to make a directory of another uid")
    cache = tmp_path / "c"
    cache.mkdir(mode=0o700)
    os.chown(cache, 4242, 4242)
    r = vfs(velerofs, "ls", "--cache", cache, shop_vault, "backups")
    assert r.returncode != 0 and b"belongs to uid 4242" in r.stderr, r.stderr


def test_default_cache_without_home_is_checked(velerofs, shop_vault, tmp_path):
    """No HOME, no XDG_CACHE_HOME: the /var/tmp fallback is checked like any
    other (a symbolic link planted there is refused)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_CACHE_HOME")}
    fallback = pathlib.Path("/var/tmp/velerofs-%d" % os.geteuid())
    if fallback.exists() or fallback.is_symlink():
        pytest.skip("%s exists on this machine" % fallback)
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o700)
    fallback.symlink_to(planted)
    try:
        r = vfs(velerofs, "ls", shop_vault, "backups", env=env)
        assert r.returncode != 0 and b"symbolic link" in r.stderr, r.stderr
        assert list(planted.iterdir()) == []
    finally:
        fallback.unlink()


# --------------------------------------------------------------------------
# the restore state directory is the user's own; jobs in it are input


def _restore_fails(velerofs, vault, kube, tmp_path, state):
    mnt = tmp_path / "mnt-fail"
    mnt.mkdir(exist_ok=True)
    return mount_fails(velerofs, "--cache", tmp_path / "cache-fail", "--kubeconfig",
                       kube.kubeconfig, "--restore-state", state, vault, mnt=mnt)


def test_state_dir_others_can_write_is_refused(velerofs, shop_vault, kube, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, 0o777)
    r = _restore_fails(velerofs, shop_vault, kube, tmp_path, state)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "restore state" in err and "written by others" in err, err


def test_state_dir_of_another_user_is_refused(velerofs, shop_vault, kube, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to make a directory of another uid")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.chown(state, 4242, 4242)
    r = _restore_fails(velerofs, shop_vault, kube, tmp_path, state)
    assert r.returncode != 0 and b"belongs to uid 4242" in r.stderr, r.stderr
    # a symbolic link planted where the state directory goes
    link = tmp_path / "state-link"
    link.symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    r = _restore_fails(velerofs, shop_vault, kube, tmp_path, link)
    assert r.returncode != 0 and b"symbolic link" in r.stderr, r.stderr


def test_lock_file_error_says_the_real_reason(velerofs, shop_vault, kube, tmp_path):
    state = tmp_path / "state"
    (state / ".lock").mkdir(parents=True)
    os.chmod(state, 0o700)
    r = _restore_fails(velerofs, shop_vault, kube, tmp_path, state)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "another velerofs mount" not in err, err
    assert "lock file" in err and "Is a directory" in err, err


def test_planted_job_is_validated_again(mount, shop_vault, kube, tmp_path):
    """A job put in the state directory by someone else than velerofs is
    parsed again like new input: one that fails the checks is ignored as a
    whole (no item of it applied), and said so."""
    from test_restore_mount import restore_mount, get, unique_ns, wait_job, cp, job_files

    ns = unique_ns("plant")
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    m = restore_mount(mount, shop_vault, kube, tmp_path, allow_errors=True)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "genuine", "namespace": ns}}))
    cp(good, m / "restore")
    wait_job(m)
    m.stop()
    planted = m.state / "restore-20000101-000000-0001"
    planted.mkdir(mode=0o700)
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "planted", "namespace": ns}},
             {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "../../../api/v1/namespaces/%s/configmaps/x" % ns, "namespace": ns}}]
    (planted / "job.json").write_text(json.dumps({"id": planted.name, "source": "restore/p.json",
                                                  "created": 946684800, "items": items}))
    m.start()
    assert planted.name + ".txt" not in job_files(m)
    assert len(job_files(m)) == 1
    assert "restore-20000101-000000-0001" in m.stderr() and "not valid" in m.stderr()
    # the worker had its chance: a new job after it is done, the planted
    # one never ran
    cp(good, m / "restore" / "again.json")
    wait_job(m)
    assert get(kube, "/api/v1/namespaces/%s/configmaps/genuine" % ns) is not None
    assert get(kube, "/api/v1/namespaces/%s/configmaps/planted" % ns) is None


# --------------------------------------------------------------------------
# mount points


def test_mount_refuses_a_mounted_mountpoint(velerofs, mount, shop_vault, tmp_path):
    m = mount(shop_vault)
    r = mount_fails(velerofs, "--cache", tmp_path / "c2", shop_vault, mnt=m.path)
    assert b"already mounted (fuse.velerofs)" in r.stderr, r.stderr
    # the first mount is still the one serving, alone
    assert os.listdir(m / "backups")
    with open("/proc/self/mountinfo") as f:
        assert sum(1 for l in f if l.split()[4] == str(m.path)) == 1


def test_mount_refuses_a_file_as_mountpoint(velerofs, shop_vault, tmp_path):
    f = tmp_path / "file"
    f.write_text("not a directory\n")
    r = mount_fails(velerofs, "--cache", tmp_path / "c", shop_vault, mnt=f)
    assert b"is not a directory" in r.stderr, r.stderr
    assert f.read_text() == "not a directory\n"


def test_mount_clears_its_own_dead_mount(mount, shop_vault, tmp_path):
    """kill -9 of a daemon leaves a dead mount ("Transport endpoint is not
    connected"); the next `velerofs mount` there clears it and mounts."""
    m = mount(shop_vault, allow_errors=False)
    assert os.listdir(m / "backups")
    m.proc.send_signal(9)
    m.proc.wait(util.REAP_TIMEOUT)
    m.proc = None
    with pytest.raises(OSError) as ei:
        # statfs always asks the daemon; a stat may be answered from the
        # kernel's attribute cache (a mount without restore/ is read-only,
        # so reading a directory does not invalidate its atime)
        os.statvfs(m / "backups")
    assert ei.value.errno == 107  # ENOTCONN: dead, still in mountinfo
    assert util.in_mountinfo(m.path)
    m.start()
    assert "the velerofs mount there is dead" in m.stderr()
    assert os.listdir(m / "backups")
    with open("/proc/self/mountinfo") as f:
        assert sum(1 for l in f if l.split()[4] == str(m.path)) == 1


# --------------------------------------------------------------------------
# secrets in a vault URL: never in argv, never in messages

from test_remote import ACCT, az_url, az_env, s3_url, s3_env, az_vaults, s3_vaults, weird, use_env  # noqa: E402,F401


def account_sas(account, key_b64, sig_extra=""):
    """An Azure account SAS (read/list, blob service) signed with the
    account key, as `az storage account generate-sas` makes it."""
    import base64
    import hashlib
    import hmac
    f = dict(sv="2021-08-06", ss="b", srt="sco", sp="rl", se="2099-01-01T00:00:00Z", spr="https,http")
    sts = "\n".join([account, f["sp"], f["ss"], f["srt"], "", f["se"], "", f["spr"], f["sv"], "", ""])
    sig = base64.b64encode(hmac.new(base64.b64decode(key_b64), sts.encode(), hashlib.sha256).digest()).decode()
    f["sig"] = sig + sig_extra
    return "&".join("%s=%s" % (k, urllib.parse.quote(v, safe="")) for k, v in f.items()), sig


def test_sas_in_the_url_never_in_argv(mount, az_vaults, use_env, tmp_path):
    sas, sig = account_sas(ACCT, az_vaults.accounts[ACCT])
    env = az_env(az_vaults)
    del env["AZURE_STORAGE_CONNECTION_STRING"]
    use_env(env)
    url = az_url(az_vaults, "velero", "pfx", sas=urllib.parse.quote(sas, safe=""))
    m = mount(url)
    assert os.listdir(m / "backups"), "the SAS did not work"
    with open("/proc/%d/cmdline" % m.proc.pid, "rb") as f:
        cmdline = f.read()
    for secret in (sig, urllib.parse.quote(sig, safe=""), urllib.parse.quote(urllib.parse.quote(sig, safe=""), safe="")):
        assert secret.encode() not in cmdline, cmdline
    assert b"sas=***" in cmdline, cmdline
    assert b"azblob://%s/velero/pfx" % ACCT.encode() in cmdline
    assert sig not in m.stderr()


def test_sas_never_in_cli_messages(velerofs, az_vaults, tmp_path):
    env = az_env(az_vaults)
    del env["AZURE_STORAGE_CONNECTION_STRING"]
    sas, sig = account_sas(ACCT, az_vaults.accounts[ACCT])
    bad_sas, bad_sig = account_sas(ACCT, az_vaults.accounts[ACCT], sig_extra="AAAA")
    good = az_url(az_vaults, "velero", "pfx", sas=urllib.parse.quote(sas, safe=""))
    bad = az_url(az_vaults, "velero", "pfx", sas=urllib.parse.quote(bad_sas, safe=""))
    cache = ["--cache", str(tmp_path / "c")]
    runs = [
        (["diff", *cache, good, "no-such-a", "no-such-b"], sig),
        (["find", *cache, "--kind", "ConfigMap", bad], bad_sig),
        (["diff", *cache, bad, "a", "b"], bad_sig),
        (["ls", *cache, bad, "backups"], bad_sig),
        (["ls", *cache, good, "backups/no-such-backup/x"], sig),
        (["cat", *cache, good, "backups/no-such-backup/x"], sig),
    ]
    for args, secret in runs:
        r = subprocess.run([str(velerofs), *args], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode != 0, (args, r.stdout)
        out = r.stdout + r.stderr
        assert out.strip(), args
        q1 = urllib.parse.quote(secret, safe="")
        for s in (secret, q1, urllib.parse.quote(q1, safe="")):
            assert s[:12] not in out, (args, out)


def test_plain_http_and_insecure_warn_once(velerofs, s3_vaults, tmp_path):
    env = s3_env(s3_vaults)
    r = subprocess.run([str(velerofs), "ls", "--cache", str(tmp_path / "c"),
                        s3_url(s3_vaults, insecure="1"), "backups"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("TLS VERIFICATION IS OFF") == 1, r.stderr
    assert r.stderr.count("plain http") == 1, r.stderr
    assert "warning:" in r.stderr and "error:" not in r.stderr
    r = subprocess.run([str(velerofs), "ls", "--cache", str(tmp_path / "c"),
                        s3_url(s3_vaults, insecure="0"), "backups"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "TLS VERIFICATION" not in r.stderr, r.stderr


# --------------------------------------------------------------------------
# the local vault: no symbolic link out of it, no FIFO hang


def test_local_vault_links_out_are_not_followed(mount, tmp_path, monkeypatch):
    canary = "velerofs-canary-6f1d2c"
    monkeypatch.setenv("VELEROFS_TEST_CANARY", canary)  # in the daemon's /proc/self/environ
    v = tmp_path / "vault"
    shutil.copytree(util.SHOP_VAULT, v)
    b = v / "backups" / "shop-only"
    # objects linked to files outside the vault
    (b / "shop-only-logs.gz").unlink()
    (b / "shop-only-logs.gz").symlink_to("/proc/self/environ")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "results.gz").write_bytes(gzip.compress(("{\"secret\": \"%s\"}" % canary).encode()))
    (b / "shop-only-results.gz").unlink()
    (b / "shop-only-results.gz").symlink_to(outside / "results.gz")
    (b / "shop-only-resource-list.json.gz").unlink()
    (b / "shop-only-resource-list.json.gz").symlink_to("/proc/self/environ")
    # a whole backup directory linked to one outside the vault
    shutil.copytree(util.SHOP_VAULT / "backups" / "before-upgrade", outside / "evil")
    (v / "backups" / "evil").symlink_to(outside / "evil")
    # a FIFO in place of an object: no hang
    os.mkfifo(v / "backups" / "before-upgrade" / "before-upgrade-results.gz.fifo")
    (v / "backups" / "before-upgrade" / "before-upgrade-itemoperations.json.gz").unlink()
    os.mkfifo(v / "backups" / "before-upgrade" / "before-upgrade-itemoperations.json.gz")
    # and a link inside the vault is fine
    (v / "backups" / "before-upgrade" / "before-upgrade-volumeinfo.json.gz").unlink()
    (v / "backups" / "before-upgrade" / "before-upgrade-volumeinfo.json.gz").symlink_to(
        "../shop-only/shop-only-volumeinfo.json.gz")
    m = mount(v, allow_errors=True)
    names = os.listdir(m / "backups")
    assert "evil" not in names and "shop-only" in names, names
    seen = []
    for root, dirs, files in os.walk(m / "backups", followlinks=False):
        for f in files:
            p = os.path.join(root, f)
            if os.path.islink(p):
                continue
            try:
                data = open(p, "rb").read()
            except OSError:
                continue
            seen.append(p)
            assert canary.encode() not in data, p
            assert b"VELEROFS_TEST_CANARY" not in data, p
    assert any(p.endswith("shop-only/backup.yaml") for p in seen)
    assert canary not in m.stderr()


def _rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_unknown_job_lookups_do_not_grow_memory(mount, shop_vault, kube, tmp_path, monkeypatch):
    from test_restore_mount import restore_mount
    # under ASan, freed memory waits in a quarantine: reuse it at once, so
    # that what stays allocated is what the RSS shows
    asan = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS", (asan + ":" if asan else "")
                       + "quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    jobs = m / "restore" / "jobs"

    def probe(start, n):
        for i in range(start, start + n):
            try:
                os.stat(jobs / ("restore-20990101-000000-%d%s.txt" % (i, "x" * 150)))
            except FileNotFoundError:
                pass
            else:
                raise AssertionError("a job that does not exist")

    probe(0, 2000)  # warm up: threads, arenas
    before = _rss_kb(m.proc.pid)
    probe(10**6, 30000)
    grown = _rss_kb(m.proc.pid) - before
    # a node per name would be 30000 * (~200 bytes + the name): > 6 MB
    assert grown < 3000, "the daemon grew by %d kB for 30000 unknown names" % grown


def test_kubeconfig_without_tls_verification_warns(mount, shop_vault, kube, tmp_path):
    import yaml
    cfg = yaml.safe_load(open(kube.kubeconfig))
    for c in cfg["clusters"]:
        c["cluster"].pop("certificate-authority-data", None)
        c["cluster"].pop("certificate-authority", None)
        c["cluster"]["insecure-skip-tls-verify"] = True
    kc = tmp_path / "insecure.kubeconfig"
    kc.write_text(yaml.safe_dump(cfg))
    m = mount(shop_vault, args=["--kubeconfig", str(kc), "--restore-state", str(tmp_path / "st")])
    assert (m / "restore").is_dir()
    assert m.stderr().count("TLS VERIFICATION IS OFF") == 1, m.stderr()
