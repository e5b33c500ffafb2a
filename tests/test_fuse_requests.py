"""What the kernel asks the daemon for (fs/fs.c): READDIRPLUS on every
readdir call fills the kernel's entry and attribute caches for a whole
directory, and files stored into the page cache after a READ read back
exactly. The daemon logs its request counts when the mount ends
(--log-level info); these tests read that line, never a clock, so they hold
on a loaded machine."""

from __future__ import annotations

import os
import re
import subprocess

import yaml

import vaultgen

N = 600  # ConfigMaps in one namespace: far more than one readdir reply holds


def _vault(root):
    objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bulk"}}]
    for i in range(N):
        objs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "cm-%04d" % i, "namespace": "bulk"},
                     "data": {"i": str(i), "text": "line %d\n" % i * (1 + i % 50)}})
    vaultgen.write_backup(root, "bulk", objs)
    return root


def _counts(m) -> dict[str, int]:
    """Stops the mount and returns the counts of its last "requests:" line."""
    m.stop()
    lines = [ln for ln in m.stderr().splitlines() if "requests: lookup" in ln]
    assert lines, "no request counts in the daemon's log:\n" + m.stderr()[-2000:]
    counts = {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", lines[-1])}
    counts["stored"] = int(re.search(r"page cache (\d+)", lines[-1]).group(1))
    return counts


def test_listing_fills_entries_and_attributes(mount, tmp_path):
    """A listing without stat (as grep -r and find read a directory), then
    stat and ls -l of every file: no LOOKUP or GETATTR per file. With
    READDIRPLUS only on a directory's first readdir call (the kernel's
    READDIRPLUS_AUTO) every file after the first reply took a LOOKUP."""
    m = mount(_vault(tmp_path / "vault"), args=("--log-level", "info"))
    d = m / "backups" / "bulk" / "namespaces" / "bulk" / "configmaps"
    names = sorted(os.listdir(d))
    assert len(names) == N
    sizes = [os.stat(d / n).st_size for n in names]
    assert all(s > 0 for s in sizes)
    out = subprocess.run(["ls", "-l", str(d)], capture_output=True, text=True, check=True).stdout
    assert len(out.splitlines()) == N + 1  # "total" and one line per file
    c = _counts(m)
    # the lookups are the path's components (backups, bulk, namespaces,
    # bulk, configmaps), not one per file
    assert c["lookup"] <= 10, c
    assert c["getattr"] <= 10, c
    assert c["readdirplus"] >= 2 and c["readdir"] == 0, c


def test_files_read_one_after_another_are_exact(mount, tmp_path):
    """grep -r's pattern: the files after the one read are stored into the
    page cache by the daemon; whatever it stored reads back as the item,
    and a second pass needs no READ at all."""
    m = mount(_vault(tmp_path / "vault"), args=("--log-level", "info"))
    d = m / "backups" / "bulk" / "namespaces" / "bulk" / "configmaps"
    names = sorted(os.listdir(d))
    first = {}
    for n in names:
        data = (d / n).read_bytes()
        assert len(data) == os.stat(d / n).st_size
        o = yaml.safe_load(data)
        i = int(n[len("cm-"):-len(".yaml")])
        assert o["metadata"]["name"] == "cm-%04d" % i, n
        assert o["data"] == {"i": str(i), "text": "line %d\n" % i * (1 + i % 50)}, n
        first[n] = data
    out = subprocess.run(["grep", "-rl", "line 599", str(d)], capture_output=True, text=True)
    assert out.stdout.strip() == str(d / "cm-0599.yaml")
    again = {n: (d / n).read_bytes() for n in names}
    assert again == first
    c = _counts(m)
    # every file was read once through the daemon or stored by it; the
    # second pass and grep were served by the page cache
    assert c["read"] + c["stored"] >= N, c
    assert c["read"] <= N + 5, c
