"""Installed like a tool (issue 13): `meson install` puts the binary, the
manual page, bash and zsh completion and the mount helper in place; the
page renders without warnings and covers every command and mount option;
`mount -t fuse.velerofs` mounts a vault, through our helper and through
mount.fuse3's. The mount(8) tests run in a private mount namespace
(unshare -m) where /usr/sbin or /usr/local/bin is a directory of the test's
own, so nothing outside the test changes."""

import os
import pathlib
import re
import shutil
import subprocess

import pytest

import util

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The build installed with --destdir; returns the prefix inside it."""
    dest = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["meson", "install", "-C", str(util.build_dir()), "--no-rebuild",
                        "--quiet", "--destdir", str(dest)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    prefix = subprocess.run(["meson", "introspect", "--buildoptions", str(util.build_dir())],
                            capture_output=True, text=True, check=True).stdout
    import json
    opts = {o["name"]: o["value"] for o in json.loads(prefix)}
    return dest / opts["prefix"].lstrip("/"), opts


def test_meson_install_lists_the_files(installed):
    root, opts = installed
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())
    assert "bin/velerofs" in files
    assert "share/man/man1/velerofs.1" in files
    assert any(f.endswith("bash-completion/completions/velerofs") for f in files), files
    assert any(f.endswith("/_velerofs") and "zsh" in f for f in files), files
    helper = root / opts["sbindir"] / "mount.fuse.velerofs"
    assert helper.is_symlink(), files
    # relative, so it works wherever the tree lands
    assert helper.resolve() == (root / "bin" / "velerofs").resolve()
    assert os.access(root / "bin" / "velerofs", os.X_OK)


def _man(page, width="100"):
    env = dict(os.environ, MANWIDTH=width, LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
    return subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True,
                          text=True, env=env, timeout=60)


def test_man_page_renders_without_warnings(installed):
    root, _ = installed
    r = _man(root / "share/man/man1/velerofs.1")
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    assert "VELEROFS(1)" in r.stdout
    r = subprocess.run(["groff", "-ww", "-z", "-man", "-Tutf8",
                        str(root / "share/man/man1/velerofs.1")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_man_page_covers_every_command_and_mount_option(velerofs):
    text = re.sub(r".\x08", "", _man(REPO / "docs/velerofs.1", width="200").stdout)
    top = util.run([velerofs, "help"]).stdout.decode()
    commands = re.findall(r"^  ([a-z]+) ", top.split("Commands:")[1], re.M)
    assert len(commands) >= 10, top
    for c in commands:
        assert re.search(r"^   %s\b" % c, text, re.M), "man page has no section for %s" % c
    mount_help = util.run([velerofs, "mount", "--help"]).stdout.decode()
    for opt in set(re.findall(r"-o ([a-z_]+)", mount_help)) | set(re.findall(r"(--[a-z-]+)", mount_help)):
        if opt in ("allow_other",):
            continue
        assert opt in text, "man page does not mention %s" % opt


def _complete(script, *words):
    line = " ".join(words)
    prog = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=%r; COMP_POINT=%d; _velerofs; '
            'printf "%%s\\n" "${COMPREPLY[@]}"') % (script, line, len(words) - 1, line, len(line))
    r = subprocess.run(["bash", "-c", prog], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_bash_completion(installed):
    root, _ = installed
    script = next(root.rglob("bash-completion/completions/velerofs"))
    assert _complete(script, "velerofs", "ba") == ["backups"]
    assert "--kubeconfig" in _complete(script, "velerofs", "mount", "--k")
    assert sorted(_complete(script, "velerofs", "backups", "-o", "")) == ["json", "wide", "yaml"]
    assert sorted(_complete(script, "velerofs", "restore", "")) == ["create", "status", "wait"]


def test_zsh_completion_is_a_compdef(installed):
    root, _ = installed
    z = next(p for p in root.rglob("_velerofs"))
    text = z.read_text()
    assert text.startswith("#compdef velerofs")
    for c in ("mount", "backups", "find", "diff", "restore", "cache"):
        assert c + ":" in text


def _in_namespace(script, timeout=120):
    """Runs script (sh) in a private mount namespace."""
    if not shutil.which("unshare"):
        pytest.skip("unshare(1) missing")
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-ec", script],
                          capture_output=True, text=True, timeout=timeout)


def _fstab_mount(vault, mnt, cache, bind_src, bind_dst, velerofs):
    # mount(8) finds mount.fuse.velerofs in /sbin (/usr/sbin), or else
    # mount.fuse3, which runs `velerofs VAULT MNT -o ...` from PATH
    return _in_namespace(f"""
        mount --bind {bind_src} {bind_dst}
        mount -t fuse.velerofs {vault} {mnt} -o ro,noauto,nofail,_netdev,x-systemd.automount,cache={cache}
        grep " {mnt} fuse.velerofs " /proc/self/mounts
        ls {mnt}/backups/latest/namespaces/shop/configmaps
        cat {mnt}/backups/latest/namespaces/shop/configmaps/nginx-conf.yaml | head -1
        {velerofs} umount {mnt}
        """)


def test_mount_t_fuse_velerofs_through_our_helper(installed, shop_vault, tmp_path, velerofs):
    root, opts = installed
    sbin = tmp_path / "sbin"
    sbin.mkdir()
    (sbin / "mount.fuse.velerofs").symlink_to(root / "bin" / "velerofs")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = _fstab_mount(shop_vault, mnt, tmp_path / "cache", sbin, "/usr/sbin", velerofs)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "nginx-conf.yaml" in r.stdout and "apiVersion: v1" in r.stdout
    assert " ro," in r.stdout  # -o ro reached the kernel
    assert not util.SANITIZER_RE.search(r.stderr), r.stderr


def test_mount_t_fuse_velerofs_through_mount_fuse3(installed, shop_vault, tmp_path, velerofs):
    if not (os.path.exists("/sbin/mount.fuse") or os.path.exists("/sbin/mount.fuse3")):
        pytest.skip("no mount.fuse3")
    root, _ = installed
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # velerofs where a `meson install` puts it; no mount.fuse.velerofs
    r = _fstab_mount(shop_vault, mnt, tmp_path / "cache", root / "bin", "/usr/local/bin", velerofs)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "nginx-conf.yaml" in r.stdout
    assert not util.SANITIZER_RE.search(r.stderr), r.stderr


def test_mount_helper_arguments(installed, shop_vault, tmp_path):
    root, opts = installed
    helper = root / opts["sbindir"] / "mount.fuse.velerofs"
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # mount -f: fake, nothing mounted
    r = util.run([helper, shop_vault, mnt, "-f", "-o", "ro", "-t", "fuse.velerofs"])
    assert r.returncode == 0, r.stderr
    assert not util.in_mountinfo(mnt)
    r = util.run([helper])
    assert r.returncode == 2 and b"fuse.velerofs" in r.stderr
    # an option velerofs does not know is refused with its own message
    r = util.run([helper, shop_vault, mnt, "-o", "bogus_option", "-t", "fuse.velerofs"])
    assert r.returncode == 2, r.stderr
    assert b"bogus_option" in r.stderr and b"fuse:" not in r.stderr
    assert not util.in_mountinfo(mnt)
