"""Volume data over Azure Blob (issue 15): the kopia repository and the backup of test_volumes (its
local vault: pvbwriter's PodVolumeBackup in the real ns-shop backup, kopia/shop/ as Velero's
node-agent wrote it) uploaded to Azurite, mounted through azblob://: every file under
volumes/shop/db-0/data/ equals the source byte for byte with the same metadata, as from the local
vault. The container is this file's own (the session's Azurite is shared between test files).
"""

from __future__ import annotations

import os
import pathlib

from test_remote import az_env, az_url, upload_az, use_env  # noqa: F401 (a fixture)
from test_volumes import (BACKUP, NS, POD, VOLUME, assert_same_tree, expected,  # noqa: F401 (fixtures)
                          vol_vault, volume)

CONTAINER = "velero-vol-az"


def test_volume_data_over_azblob(volume, vol_vault, azurite, mount, use_env):
    upload_az(azurite, CONTAINER, "bsl", vol_vault)
    use_env(az_env(azurite))
    m = mount(az_url(azurite, CONTAINER, "bsl"))
    b = pathlib.Path(os.fspath(m)) / "backups" / BACKUP
    assert os.listdir(b / "volumes") == [NS]
    assert os.listdir(b / "volumes" / NS) == [POD]
    got = expected(b / "volumes" / NS / POD / VOLUME)
    assert_same_tree(got, expected(volume["src"]))
    assert len(got) > 3000
