"""The command line: help and version, `ls`/`cat` against what a mount
shows, errors and exit codes, daemon mode and `umount`, `cache du|prune`."""

import datetime as _dt
import os
import pathlib
import stat
import subprocess
import time

import pytest

import util

SUBCOMMANDS = ["mount", "umount", "ls", "cat", "cache"]


def vfs(velerofs, *args, **kw):
    r = util.run([velerofs, *args], **kw)
    err = r.stderr.decode("utf-8", "replace")
    assert not util.SANITIZER_RE.search(err), "velerofs %s:\n%s" % (" ".join(map(str, args)), err)
    return r


# --------------------------------------------------------------------------
# help and version


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_top_help(velerofs, flag):
    r = vfs(velerofs, flag)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "Usage: velerofs" in out
    for c in SUBCOMMANDS:
        assert c in out


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_top_version(velerofs, flag):
    r = vfs(velerofs, flag)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().startswith("velerofs ")
    assert any(ch.isdigit() for ch in r.stdout.decode())


@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_subcommand_help(velerofs, cmd):
    for flag in ("--help", "-h"):
        r = vfs(velerofs, cmd, flag)
        assert r.returncode == 0, (cmd, flag, r.stderr)
        assert ("velerofs " + cmd) in r.stdout.decode(), (cmd, r.stdout)
        assert not r.stderr


@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_subcommand_version(velerofs, cmd):
    """--version everywhere (issue 2, CLI)."""
    r = vfs(velerofs, cmd, "--version")
    assert r.returncode == 0, (cmd, r.returncode, r.stderr.decode())
    assert r.stdout.decode().startswith("velerofs ")


def test_no_command_and_unknown_command(velerofs):
    r = vfs(velerofs)
    assert r.returncode == 2
    assert b"Usage" in r.stdout + r.stderr
    r = vfs(velerofs, "frobnicate")
    assert r.returncode == 2
    assert b"frobnicate" in r.stderr


@pytest.mark.parametrize("argv", [
    ["ls", "--bogus", "VAULT"],
    ["ls", "-Z", "VAULT"],
    ["cat", "--bogus", "VAULT", "backups"],
    ["cat", "VAULT"],  # PATH missing
    ["ls"],  # VAULT missing
    ["cache", "bogus"],
    ["cache", "prune", "--max", "abc"],
    ["cache", "--bogus", "du"],
    ["umount"],
    ["umount", "--bogus", "MNT"],
    ["umount", "--bogus"],
    ["mount"],
    ["mount", "VAULT"],
    ["mount", "--bogus", "VAULT", "MNT"],
    ["mount", "-o", "cache_size=lots", "VAULT", "MNT"],
], ids=lambda a: " ".join(a) or "none")
def test_bad_options_exit_2(velerofs, shop_vault, tmp_path, argv):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    argv = [str(shop_vault) if a == "VAULT" else str(mnt) if a == "MNT" else a for a in argv]
    r = vfs(velerofs, *argv, timeout=10)
    assert not os.path.ismount(mnt)
    assert r.returncode == 2, (argv, r.returncode, r.stderr.decode())
    assert r.stderr, argv


# --------------------------------------------------------------------------
# ls and cat == the mount


PATHS = [
    "",
    "backups",
    "schedules",
    "schedules/daily",
    "backups/latest",
    "backups/latest/namespaces",
    "backups/latest/namespaces/shop",
    "backups/latest/namespaces/shop/configmaps",
    "backups/latest/namespaces/shop/secrets",
    "backups/latest/cluster/clusterroles.rbac.authorization.k8s.io",
    "backups/latest/meta",
    "backups/nightly-failed",
    "backups/all-versions-20261119/apiversions/widgets.example.com/v1beta1/namespaces/shop",
    "schedules/daily/daily-20261118020000/namespaces/shop/deployments.apps",
]


def _mount_path(m, p):
    return m.path / p if p else m.path


def _listing(m, p):
    """What the mount lists at p, less restore/: the spool is the daemon's,
    `velerofs ls` reads backups only."""
    names = os.listdir(_mount_path(m, p))
    return sorted(n for n in names if p or n != "restore")


def test_ls_equals_mount(velerofs, mount, shop_vault, tmp_path):
    m = mount(shop_vault)
    cache = tmp_path / "lscache"
    for p in PATHS:
        args = ["ls", "--cache", cache, shop_vault] + ([p] if p else [])
        r = vfs(velerofs, *args)
        assert r.returncode == 0, (p, r.stderr.decode())
        assert not r.stderr
        got = r.stdout.decode().splitlines()
        assert sorted(got) == _listing(m, p), p


def test_ls_json_equals_json_mount(velerofs, mount, shop_vault, tmp_path):
    m = mount(shop_vault, json=True)
    for p in PATHS:
        r = vfs(velerofs, "ls", "--json", "--cache", tmp_path / "c", shop_vault, *([p] if p else []))
        assert r.returncode == 0, (p, r.stderr.decode())
        assert sorted(r.stdout.decode().splitlines()) == _listing(m, p), p


def _utc_minute(t):
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("p", [
    "backups/latest",
    "backups/latest/namespaces/shop/secrets",
    "backups/latest/namespaces/shop/configmaps",
    "backups/daily-20261118020000/meta",
])
def test_ls_long_matches_stat(velerofs, mount, shop_vault, tmp_path, p):
    m = mount(shop_vault)
    r = vfs(velerofs, "ls", "-l", "--cache", tmp_path / "c", shop_vault, p)
    assert r.returncode == 0, r.stderr.decode()
    seen = []
    for line in r.stdout.decode().splitlines():
        mode, size, day, hm, name = line.split(None, 4)
        st = os.lstat(_mount_path(m, p) / name)
        assert mode == stat.filemode(st.st_mode), (name, mode)
        if stat.S_ISREG(st.st_mode):
            assert int(size) == st.st_size, name
        assert day + " " + hm == _utc_minute(st.st_mtime), name
        seen.append(name)
    assert sorted(seen) == sorted(os.listdir(_mount_path(m, p)))


@pytest.mark.parametrize("p", ["", "backups", "schedules", "schedules/daily"])
def test_ls_long_lists_what_the_mount_shows(velerofs, mount, shop_vault, tmp_path, p):
    """`ls -l` shows the same entries as `ls` (incl. backups/latest and the
    schedule links), each in the long format."""
    m = mount(shop_vault)
    r = vfs(velerofs, "ls", "-l", "--cache", tmp_path / "c", shop_vault, *([p] if p else []))
    assert r.returncode == 0, r.stderr.decode()
    lines = r.stdout.decode().splitlines()
    names = []
    for l in lines:
        assert len(l.split(None, 4)) == 5 and l[0] in "-dl", (p, l)
        name = l.split(None, 4)[-1]
        if l[0] == "l":
            # like ls -l: "name -> target", and the target is the mount's
            name, target = name.split(" -> ", 1)
            assert os.readlink(_mount_path(m, p) / name) == target, (p, l)
        names.append(name)
    assert sorted(names) == _listing(m, p), (p, lines)


CAT_PATHS = [
    "backups/latest/backup.yaml",
    "backups/latest/describe.txt",
    "backups/latest/logs",
    "backups/latest/meta/resource-list.yaml",
    "backups/latest/namespaces/shop/configmaps/nginx-conf.yaml",
    "backups/latest/namespaces/shop/secrets/db-credentials.yaml",
    "backups/latest/cluster/clusterroles.rbac.authorization.k8s.io/system:shop:reader.yaml",
    "backups/nightly-failed/describe.txt",
    "backups/partial-20261120/describe.txt",
    "backups/all-versions-20261119/apiversions/widgets.example.com/v1beta1/namespaces/shop/blue.yaml",
    "schedules/daily/daily-20261118020000/namespaces/shop/deployments.apps/web.yaml",
    "schedules/daily/daily-20261119020000/backup.yaml",
    "schedules/nightly/nightly-failed/meta/results.yaml",
]


def test_cat_equals_mount(velerofs, mount, shop_vault, tmp_path):
    m = mount(shop_vault)
    for p in CAT_PATHS:
        r = vfs(velerofs, "cat", "--cache", tmp_path / "c", shop_vault, p)
        assert r.returncode == 0, (p, r.stderr.decode())
        assert r.stdout == (m.path / p).read_bytes(), p
    # without --cache in a throwaway XDG_CACHE_HOME, file:// vault URL
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    r = vfs(velerofs, "cat", "file://" + str(shop_vault), CAT_PATHS[4], env=env)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == (m.path / CAT_PATHS[4]).read_bytes()


def test_cat_json_equals_json_mount_and_member(velerofs, mount, shop_vault, tmp_path):
    m = mount(shop_vault, json=True)
    latest = util.newest_completed(shop_vault)
    members = util.item_members(shop_vault / "backups" / latest / (latest + ".tar.gz"))
    n = 0
    for member, data in sorted(members.items())[:25]:
        rel = util.member_tree_path(member, ".json")
        r = vfs(velerofs, "cat", "--json", "--cache", tmp_path / "c", shop_vault, "backups/latest/" + rel)
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout == data == (m.path / "backups/latest" / rel).read_bytes()
        n += 1
    assert n == 25
    r = vfs(velerofs, "cat", "--json", "--cache", tmp_path / "c", shop_vault, "backups/latest/backup.json")
    assert r.stdout == (shop_vault / "backups" / latest / "velero-backup.json").read_bytes()


def test_cli_errors(velerofs, shop_vault, tmp_path):
    c = tmp_path / "c"
    missing = tmp_path / "no" / "such" / "vault"
    for args in (["ls", missing], ["cat", missing, "backups/latest/backup.yaml"], ["ls", "file://%s" % missing]):
        r = vfs(velerofs, args[0], "--cache", c, *args[1:])
        assert r.returncode not in (0, 2), args
        assert str(missing) in r.stderr.decode(), r.stderr
        assert not r.stdout
    for p in ("backups/nope", "backups/latest/namespaces/nope", "schedules/nope"):
        r = vfs(velerofs, "ls", "--cache", c, shop_vault, p)
        assert r.returncode == 1, p
        assert p in r.stderr.decode() and "No such file" in r.stderr.decode()
    r = vfs(velerofs, "cat", "--cache", c, shop_vault, "backups/latest/nope.yaml")
    assert r.returncode == 1 and "backups/latest/nope.yaml" in r.stderr.decode()
    r = vfs(velerofs, "cat", "--cache", c, shop_vault, "backups/latest/meta")
    assert r.returncode == 1 and "directory" in r.stderr.decode().lower()
    # a vault that is a file, not a directory
    f = tmp_path / "file"
    f.write_text("x")
    r = vfs(velerofs, "ls", "--cache", c, f)
    assert r.returncode not in (0, 2) and str(f) in r.stderr.decode()


# --------------------------------------------------------------------------
# mount, daemon mode, umount


def _daemon_pids(mnt):
    """Pids of velerofs processes whose command line names mnt (the ones
    this test started; the mount point is unique to the test)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cmd = open("/proc/%s/cmdline" % d, "rb").read().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"velerofs") and b"mount" in cmd and str(mnt).encode() in cmd:
            pids.append(int(d))
    return pids


def test_mount_missing_vault_fails_fast(velerofs, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    missing = tmp_path / "no-vault"
    t = time.monotonic()
    r = vfs(velerofs, "mount", "--cache", tmp_path / "c", missing, mnt, timeout=10)
    assert time.monotonic() - t < 5
    assert r.returncode != 0
    assert str(missing) in r.stderr.decode()
    assert not os.path.ismount(mnt)
    assert not _daemon_pids(mnt)


def test_mount_missing_mountpoint_message(velerofs, shop_vault, tmp_path):
    mnt = tmp_path / "no" / "mnt"
    r = vfs(velerofs, "mount", "--cache", tmp_path / "c", shop_vault, mnt, timeout=10)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert str(mnt) in err
    assert "No such file or directory" in err, err
    assert "Success" not in err, err


def test_daemon_mode_and_umount(velerofs, shop_vault, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        t = time.monotonic()
        r = vfs(velerofs, "mount", "--cache", tmp_path / "c", shop_vault, mnt, timeout=20)
        assert r.returncode == 0, r.stderr.decode()
        assert time.monotonic() - t < 10
        # returns once mounted: usable at once, no polling
        assert os.path.ismount(mnt)
        assert "latest" in os.listdir(mnt / "backups")
        pids = _daemon_pids(mnt)
        assert len(pids) == 1
        assert (mnt / "backups/latest/backup.yaml").read_bytes()
        r = vfs(velerofs, "umount", mnt, timeout=20)
        assert r.returncode == 0, r.stderr.decode()
        assert not os.path.ismount(mnt)
        deadline = time.monotonic() + 10
        while _daemon_pids(mnt) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _daemon_pids(mnt), "the daemon did not exit after umount"
        # umount of something not mounted fails
        r = vfs(velerofs, "umount", mnt)
        assert r.returncode != 0
        assert r.stderr
    finally:
        util.unmount(mnt)
        for pid in _daemon_pids(mnt):
            os.kill(pid, 9)


def test_foreground_mount_exits_on_umount(velerofs, mount, shop_vault):
    m = mount(shop_vault)
    r = vfs(velerofs, "umount", m.path, timeout=20)
    assert r.returncode == 0, r.stderr.decode()
    assert not os.path.ismount(m.path)
    assert m.proc.wait(10) == 0


def test_mount_options(velerofs, mount, shop_vault):
    m = mount(shop_vault, args=["-o", "timeout=5,max_threads=4,cache_size=100M"])
    assert (m / "backups/latest/backup.yaml").read_bytes()


# --------------------------------------------------------------------------
# cache du / prune


def _du(velerofs, cache):
    r = vfs(velerofs, "cache", "--cache", cache, "du")
    assert r.returncode == 0, r.stderr.decode()
    line = r.stdout.decode().strip()
    path, size, entries = line.split("\t")
    assert path == str(cache)
    return int(size.split()[0]), int(entries.split()[0])


def test_cache_du_and_prune(velerofs, shop_vault, tmp_path):
    cache = tmp_path / "c"
    assert _du(velerofs, cache) == (0, 0)
    names = util.backup_names(shop_vault)[:3]
    for i, b in enumerate(names):
        r = vfs(velerofs, "ls", "--cache", cache, shop_vault, "backups/" + b)
        assert r.returncode == 0
    idx = sorted((cache / "idx").glob("*.idx"))
    assert len(idx) == 3
    # one more entry: the vault's catalog (for browsing while offline)
    cats = list((cache / "cat").glob("*.cat"))
    assert len(cats) == 1
    size, n = _du(velerofs, cache)
    assert n == 3 + 1
    assert size >= sum(p.stat().st_size for p in idx)
    # make the LRU order explicit: the first one is the oldest
    now = time.time()
    for i, p in enumerate(sorted(idx, key=lambda p: p.stat().st_mtime)):
        os.utime(p, (now - 100 + i, now - 100 + i))
    order = sorted(idx, key=lambda p: p.stat().st_mtime)
    newest = order[-1]
    keep = size - 1  # forces at least one eviction, keeps at least the newest
    r = vfs(velerofs, "cache", "--cache", cache, "prune", "--max", str(keep))
    assert r.returncode == 0, r.stderr.decode()
    left = sorted((cache / "idx").glob("*.idx"))
    assert newest in left and order[0] not in left
    assert _du(velerofs, cache)[0] <= keep
    # pruning everything is a choice made out loud, not the default
    r = vfs(velerofs, "cache", "--cache", cache, "prune")
    assert r.returncode == 2 and b"--all" in r.stderr
    assert len(list((cache / "idx").glob("*.idx"))) == len(left)
    r = vfs(velerofs, "cache", "--cache", cache, "prune", "--all")
    assert r.returncode == 0
    assert list((cache / "idx").glob("*.idx")) == []
    assert _du(velerofs, cache) == (0, 0)
    # a pruned cache is rebuilt on use
    r = vfs(velerofs, "cat", "--cache", cache, shop_vault, "backups/latest/backup.yaml")
    assert r.returncode == 0
    r = vfs(velerofs, "ls", "--cache", cache, shop_vault, "backups/latest/namespaces")
    assert r.returncode == 0 and r.stdout


def test_cache_prune_sizes(velerofs, shop_vault, tmp_path):
    cache = tmp_path / "c"
    vfs(velerofs, "ls", "--cache", cache, shop_vault, "backups/latest/namespaces")
    size, n = _du(velerofs, cache)
    assert n == 2  # the index and the vault's catalog
    for spec in ("1G", "10M", "%dK" % (size // 1024 + 10)):
        r = vfs(velerofs, "cache", "--cache", cache, "prune", "--max", spec)
        assert r.returncode == 0, (spec, r.stderr.decode())
        assert _du(velerofs, cache)[1] == 2, spec
    r = vfs(velerofs, "cache", "--cache", cache, "prune", "--max", "0")
    assert r.returncode == 0
    assert _du(velerofs, cache)[1] == 0


def test_cache_ls(velerofs, shop_vault, tmp_path):
    cache = tmp_path / "c"
    vfs(velerofs, "ls", "--cache", cache, shop_vault, "backups/latest/namespaces")
    r = vfs(velerofs, "cache", "--cache", cache, "ls")
    assert r.returncode == 0, r.stderr.decode()
    lines = r.stdout.decode().splitlines()
    assert lines[0].split() == ["KIND", "BYTES", "LAST", "USED", "BACKUP", "VIEW", "PATH"]
    kinds = sorted(l.split()[0] for l in lines[1:])
    assert kinds == ["index", "list"]
    for l in lines[1:]:
        path = l.split()[-1]
        assert os.path.getsize(path) <= int(l.split()[1]) + 4096


def test_mount_cache_size_evicts_but_keeps_what_is_mapped(mount, shop_vault, tmp_path):
    """-o cache_size: older indexes go once the cache is over the limit, but
    never an index the mount has mapped (every backup read stays readable)."""
    cache = tmp_path / "c"
    m = mount(shop_vault, cache=cache, args=["-o", "cache_size=64K"])
    names = util.backup_names(shop_vault)
    for b in names:
        assert (m / "backups" / b / "describe.txt").read_bytes()
    # all mapped by this mount: none evicted yet
    assert len(list((cache / "idx").glob("*.idx"))) == len(names)
    m.stop()
    # a new mount maps only what it reads: the rest is evicted past the limit
    m2 = mount(shop_vault, cache=cache, args=["-o", "cache_size=64K"])
    assert (m2 / "backups" / names[0] / "describe.txt").read_bytes()
    left = list((cache / "idx").glob("*.idx"))
    assert 1 <= len(left) < len(names)
    for b in names:  # and what went is rebuilt on use
        assert (m2 / "backups" / b / "backup.yaml").read_bytes()
