"""history/: one object across the recovery points.

history/namespaces/<ns>/<resource.group>/<name>/<time>_<backup>.yaml, one
entry per backup holding the object, sorted by the backup's time; a version
identical to the one before it is a symlink to the earlier one, so `ls -l`
shows when the object really changed."""

import os
import stat

import util


def _versions(d):
    return sorted(os.listdir(d))


def test_history_lists_every_object_of_every_backup(mount, shop_vault):
    m = mount(shop_vault)
    expected = {}
    for b in util.backup_names(shop_vault):
        bd = m / "backups" / b
        for top in ("namespaces", "cluster"):
            base = bd / top
            if not base.is_dir():
                continue
            for root, dirs, files in os.walk(base):
                for f in files:
                    rel = os.path.relpath(os.path.join(root, f), bd)
                    expected.setdefault(rel[:-5], []).append(b)
    assert len(expected) > 30
    for rel, backups in expected.items():
        hd = m / "history" / rel
        assert hd.is_dir(), rel
        names = _versions(hd)
        assert sorted(n.split("_", 1)[1][:-5] for n in names) == sorted(backups), rel


def test_versions_are_sorted_and_unchanged_ones_are_links(mount, shop_vault):
    m = mount(shop_vault)
    hd = m / "history" / "namespaces" / "shop" / "deployments.apps" / "web"
    names = _versions(hd)
    assert names == sorted(names)  # ISO times sort
    distinct = []
    for i, n in enumerate(names):
        p = hd / n
        b = n.split("_", 1)[1][:-5]
        original = (m / "backups" / b / "namespaces/shop/deployments.apps/web.yaml").read_bytes()
        assert p.read_bytes() == original, n  # links resolve to the same bytes
        if p.is_symlink():
            target = os.readlink(p)
            assert "/" not in target and names.index(target) < i
            assert (hd / target).read_bytes() == original
            assert not (hd / target).is_symlink()
        else:
            assert i == 0 or (hd / names[i - 1]).read_bytes() != original, n
            distinct.append(n)
            # the very file of the backup: same inode
            assert os.stat(p).st_ino == os.stat(m / "backups" / b / "namespaces/shop/deployments.apps/web.yaml").st_ino
    # the web image changes across the dailies: more than one real version
    assert len(distinct) >= 2


def test_history_of_the_clean_view_ignores_noise(mount, shop_vault):
    """With -o clean, versions that differ only in resourceVersion,
    managedFields or status collapse into links."""
    plain = mount(shop_vault)
    clean = mount(shop_vault, args=["-o", "clean"])
    rel = "namespaces/shop/configmaps/nginx-conf"

    def real(m):
        d = m / "history" / rel
        return [n for n in _versions(d) if not (d / n).is_symlink()]

    assert 1 <= len(real(clean)) <= len(real(plain))


def test_history_missing_paths(mount, shop_vault):
    m = mount(shop_vault)
    assert not (m / "history" / "namespaces" / "no-such-ns").exists()
    assert not (m / "history" / "bogus").exists()
    assert not (m / "history" / "namespaces/shop/configmaps/no-such-object").exists()
    st = os.stat(m / "history")
    assert stat.S_ISDIR(st.st_mode) and st.st_mode & 0o777 == 0o555
