"""A vault that can't be reached is still browsable from the cache, and the
list of backups follows the vault (-o refresh=) without remounting.
Against a real MinIO, stopped and started again."""

import errno
import os
import shutil

import pytest

import util
from servers import harness
from test_remote import restart_minio, s3_env, s3_url, upload_s3, use_env  # noqa: F401 (a fixture)

# what a refresh shows, polled for (-o refresh=1): a deadline, not a sleep,
# generous for a loaded machine and ASan
FOLLOW_TIMEOUT = 60.0


def test_mount_while_the_store_is_down(mount, tmp_path, use_env):
    """Backups read once are served by a new mount while MinIO is down;
    the others answer EIO with a reason, and come back with the store."""
    m = harness.Minio(workdir=tmp_path / "minio").start()
    cache = tmp_path / "cache"
    try:
        upload_s3(m, "velero", "", util.SHOP_VAULT)
        use_env(s3_env(m))
        first = mount(s3_url(m), cache=cache)
        seen = first / "backups" / "shop-only" / "namespaces/shop/configmaps/nginx-conf.yaml"
        want = seen.read_bytes()
        backups = sorted(os.listdir(first / "backups"))
        first.stop()
        m.stop()

        second = mount(s3_url(m), cache=cache, allow_errors=True)
        assert sorted(os.listdir(second / "backups")) == backups
        assert (second / "backups" / "shop-only" / "namespaces/shop/configmaps/nginx-conf.yaml").read_bytes() == want
        assert (second / "backups" / "shop-only" / "describe.txt").read_bytes()
        with pytest.raises(OSError) as ei:
            os.listdir(second / "backups" / "before-upgrade")
        assert ei.value.errno == errno.EIO
        m = restart_minio(m)
        assert os.listdir(second / "backups" / "before-upgrade")  # no remount
    finally:
        m.stop()


def test_refresh_follows_the_vault(mount, tmp_path, use_env):
    """New backups appear and deleted ones disappear without remounting."""
    local = mount(util.SHOP_VAULT)
    want = (local / "backups" / "shop-only" / "backup.yaml").read_bytes()
    m = harness.Minio(workdir=tmp_path / "minio").start()
    mnt = None
    try:
        src = tmp_path / "src"
        shutil.copytree(util.SHOP_VAULT, src)
        keep = src / "backups" / "shop-only"
        later = tmp_path / "later"
        shutil.move(str(keep), str(later))
        upload_s3(m, "velero", "", src)
        use_env(s3_env(m))
        mnt = mount(s3_url(m), args=["-o", "refresh=1"])
        names = set(os.listdir(mnt / "backups"))
        assert "shop-only" not in names and "before-upgrade" in names
        # a backup arrives, velero-backup.json last (Velero writes it second,
        # after the log): listed while incomplete, without backup.yaml; the
        # first refresh after the json reads it again (a new state)
        for f in sorted(later.iterdir()):
            if f.name != "velero-backup.json":
                m.put("velero", "backups/shop-only/" + f.name, f.read_bytes())
        assert util.wait_for(lambda: "shop-only" in os.listdir(mnt / "backups"), FOLLOW_TIMEOUT)
        yaml = mnt / "backups" / "shop-only" / "backup.yaml"
        assert not yaml.exists()
        json = (later / "velero-backup.json").read_bytes()
        m.put("velero", "backups/shop-only/velero-backup.json", json)
        # wait for the state, not for the name (listed already)
        assert util.wait_for(lambda: yaml.read_bytes() == want, FOLLOW_TIMEOUT,
                             ignore=(FileNotFoundError,))
        assert "shop-only" in os.listdir(mnt / "backups")
        # and one goes
        for key in m.list_keys("velero", "backups/before-upgrade/"):
            m.s3("DELETE", "/velero/" + key)
        assert util.wait_for(lambda: "before-upgrade" not in os.listdir(mnt / "backups"),
                             FOLLOW_TIMEOUT)
        assert not (mnt / "backups" / "before-upgrade").exists()
        assert mnt.alive()
    finally:
        if mnt is not None:
            mnt.stop()  # before MinIO: no "can't be reached" in its log
        m.stop()
