"""Behaving as people expect (issue 13), each tried as a new user would:
help/version/"did you mean", `velerofs backups`, -o mistakes refused with
exit 2, relative paths, a foreground mount saying when it is ready, log
files and levels, restore status/wait with no jobs, a vault without
backups/, `latest` and kubectl's kind names, damaged backups in find and
diff."""

import json
import os
import subprocess

import pytest

import util


def vfs(velerofs, *args, **kw):
    r = util.run([velerofs, *map(str, args)], **kw)
    err = r.stderr.decode("utf-8", "replace")
    assert not util.SANITIZER_RE.search(err), err
    return r


# --------------------------------------------------------------------------
# help, version, did you mean


def test_help_and_version_commands(velerofs):
    r = vfs(velerofs, "help")
    assert r.returncode == 0 and b"Usage: velerofs COMMAND" in r.stdout
    r = vfs(velerofs, "help", "backups")
    assert r.returncode == 0 and b"velerofs backups" in r.stdout
    r = vfs(velerofs, "version")
    assert r.returncode == 0 and r.stdout.startswith(b"velerofs 0.")
    r = vfs(velerofs, "help", "mout")
    assert r.returncode == 2 and b"did you mean 'mount'" in r.stderr


@pytest.mark.parametrize("typo,meant", [("mout", "mount"), ("bakups", "backups"),
                                        ("umonut", "umount"), ("restor", "restore"),
                                        ("lss", "ls"), ("vesion", "version")])
def test_did_you_mean(velerofs, typo, meant):
    r = vfs(velerofs, typo)
    assert r.returncode == 2
    assert ("did you mean '%s'?" % meant).encode() in r.stderr, r.stderr


def test_no_suggestion_for_nonsense(velerofs):
    r = vfs(velerofs, "frobnicate")
    assert r.returncode == 2 and b"did you mean" not in r.stderr


# --------------------------------------------------------------------------
# velerofs backups


def test_backups_lists_like_velero_backup_get(velerofs, shop_vault, tmp_path):
    r = vfs(velerofs, "backups", "--cache", tmp_path / "c", shop_vault)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ERRORS", "WARNINGS", "CREATED", "EXPIRES",
                                "STORAGE", "LOCATION", "SELECTOR"]
    rows = {l.split()[0]: l for l in lines[1:]}
    assert set(rows) == set(util.backup_names(shop_vault))
    for name in rows:
        bj = util.backup_json(shop_vault, name)
        cols = rows[name].split()
        assert cols[1] == bj["status"]["phase"]
        assert int(cols[2]) == bj["status"].get("errors", 0)
        assert int(cols[3]) == bj["status"].get("warnings", 0)
        created = bj["metadata"]["creationTimestamp"]
        assert "%s %s +0000 UTC" % (created[:10], created[11:19]) in rows[name]
        assert bj["spec"]["storageLocation"] in cols
    assert rows["shop-only"].rstrip().endswith("<none>")
    # a backup with a label selector shows it as velero does
    r = vfs(velerofs, "backups", "--cache", tmp_path / "c", util.REPO / "examples/vault")
    frontend = next(l for l in r.stdout.decode().splitlines() if l.startswith("frontend "))
    assert frontend.rstrip().endswith("tier=frontend")
    # no tarball was read: the cache holds no index
    assert not list((tmp_path / "c").rglob("*.index"))


def test_backups_output_formats(velerofs, shop_vault, tmp_path):
    c = tmp_path / "c"
    r = vfs(velerofs, "backups", "-o", "json", "--cache", c, shop_vault)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {x["name"] for x in rows} == set(util.backup_names(shop_vault))
    partial = next(x for x in rows if x["name"] == "partial-20261120")
    assert partial["status"] == util.backup_json(shop_vault, "partial-20261120")["status"]["phase"]
    daily = next(x for x in rows if x["name"].startswith("daily-"))
    assert daily["schedule"] == util.backup_json(shop_vault, daily["name"])["metadata"]["labels"]["velero.io/schedule-name"]
    r = vfs(velerofs, "backups", "--output", "yaml", "--cache", c, shop_vault)
    assert r.returncode == 0, r.stderr
    import yaml
    assert yaml.safe_load(r.stdout) == rows
    r = vfs(velerofs, "backups", "-o", "wide", "--cache", c, shop_vault)
    head = r.stdout.decode().splitlines()[0]
    assert "SCHEDULE" in head and "COMPLETED" in head
    r = vfs(velerofs, "backups", "-o", "xml", "--cache", c, shop_vault)
    assert r.returncode == 2 and b"-o xml" in r.stderr and not r.stdout


# --------------------------------------------------------------------------
# mount -o mistakes: velerofs's own words, exit 2, nothing mounted


@pytest.mark.parametrize("opts,words", [
    (["-o", "existing=replace"], "existing=replace"),
    (["-o", "refresh=soon"], "refresh=soon"),
    (["-o", "timeout=-3"], "timeout=-3"),
    (["-o", "max_threads=lots"], "max_threads=lots"),
    (["-o", "type_wait=1.5"], "type_wait=1.5"),
    (["-o", "cache_size=big"], "cache_size=big"),
    (["-o", "view=xml"], "view=xml"),
    (["-o", "no_such_option"], "no_such_option"),
    (["-o", "clean,redcat"], "redcat"),
    (["--log-level", "loud"], "loud"),
])
def test_mount_option_errors(velerofs, shop_vault, tmp_path, opts, words):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = vfs(velerofs, "mount", "-f", "--cache", tmp_path / "c", *opts, shop_vault, mnt, timeout=20)
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert words in err and err.startswith("velerofs mount: "), err
    assert "fuse:" not in err
    assert not util.in_mountinfo(mnt)


# --------------------------------------------------------------------------
# relative paths, daemon mode, logs, restore with no jobs

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:9
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
users:
- name: u
  user: {token: not-a-secret}
"""


@pytest.fixture
def daemon_mount(velerofs, shop_vault, tmp_path):
    """`velerofs mount` (daemon mode) started in tmp_path with relative
    paths; unmounted at the end."""
    mnts = []

    def start(*args, env=None):
        mnt = tmp_path / "mnt"
        mnt.mkdir(exist_ok=True)
        r = vfs(velerofs, "mount", *args, shop_vault, "mnt", cwd=tmp_path, env=env, timeout=60)
        if r.returncode == 0:
            mnts.append(mnt)
        return r, mnt

    yield start
    for m in mnts:
        util.unmount(m)


def test_relative_paths_daemon_mode(daemon_mount, tmp_path, velerofs):
    (tmp_path / "kc.yaml").write_text(KUBECONFIG)
    r, mnt = daemon_mount("--kubeconfig", "kc.yaml", "--restore-state", "state",
                          "--cache", "cache", "--log-file", "velerofs.log", "--log-level", "info")
    assert r.returncode == 0, r.stderr
    # the kubeconfig was read after the daemon moved to /: restore/ is there
    assert (mnt / "restore" / "status").exists()
    assert (tmp_path / "state").is_dir() and (tmp_path / "cache").is_dir()
    assert not os.path.exists("/state") and not os.path.exists("/velerofs.log")
    (mnt / "backups/latest/backup.yaml").read_bytes()
    log = (tmp_path / "velerofs.log").read_text()
    assert "mounted" in log or "restore/" in log, log


def test_relative_kubeconfig_env(daemon_mount, tmp_path):
    (tmp_path / "kc.yaml").write_text(KUBECONFIG)
    env = dict(os.environ, KUBECONFIG="kc.yaml", HOME=str(tmp_path))
    r, mnt = daemon_mount("--cache", "cache", "--restore-state", "state", env=env)
    assert r.returncode == 0, r.stderr
    assert (mnt / "restore" / "status").exists()


def test_restore_status_and_wait_without_jobs(daemon_mount, tmp_path, velerofs):
    (tmp_path / "kc.yaml").write_text(KUBECONFIG)
    r, mnt = daemon_mount("--kubeconfig", "kc.yaml", "--restore-state", "state", "--cache", "cache")
    assert r.returncode == 0, r.stderr
    r = vfs(velerofs, "restore", "status", mnt)
    assert r.returncode == 0 and b"no restore jobs" in r.stdout, r.stdout + r.stderr
    r = vfs(velerofs, "restore", "status", "--json", mnt)
    assert r.returncode == 0 and json.loads(r.stdout) == []
    r = vfs(velerofs, "restore", "wait", "--timeout", "600", mnt, timeout=20)
    assert r.returncode == 0 and b"no restore jobs" in r.stdout, r.stdout + r.stderr


def test_foreground_says_when_ready(mount, shop_vault):
    m = mount(shop_vault)
    assert "ready" in m.stderr() and str(m.path) in m.stderr()
    # no source locations unless debugging
    assert ".c:" not in m.stderr()


def test_log_file_in_the_foreground(mount, shop_vault, tmp_path):
    log = tmp_path / "fg.log"
    m = mount(shop_vault, args=["--log-file", str(log)])
    assert "ready" in log.read_text()
    assert "ready" not in m.stderr()


def test_debug_level_names_source_locations(mount, shop_vault, tmp_path):
    log = tmp_path / "dbg.log"
    m = mount(shop_vault, args=["--log-file", str(log), "--log-level", "debug"])
    (m / "backups/latest/backup.yaml").read_bytes()
    assert ".c:" in log.read_text()
