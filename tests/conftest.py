"""pytest fixtures for the mount-level tests.

* ``velerofs``: the binary under test ($VELEROFS_BUILD/velerofs, default
  <repo>/build/velerofs).
* ``mount``: a factory.  ``m = mount(vault, json=False, cache=None,
  allow_errors=False, args=())`` starts ``velerofs mount -f --cache <tmp>
  VAULT <tmp>/mnt`` with stderr captured to a file, waits until the mount is
  there (os.path.ismount, 10 s), and returns a util.Mount: ``os.fspath(m)``
  is the mount point, ``m / "backups"`` a path inside it, ``m.restart()``
  kills the daemon with SIGKILL and mounts again on the same cache.
  At teardown every mount is unmounted (fusermount3 -u, then -z), its
  daemon reaped (killed after 10 s), and the test fails if a daemon wrote a
  sanitizer report, or -- unless allow_errors=True -- any "error:", to
  stderr.

It loads tests/servers/pytest_plugin.py: the kube, minio and azurite fixtures.
"""


# the real servers: kube-apiserver + etcd, MinIO, Azurite (tests/servers/)
pytest_plugins = ["servers.pytest_plugin"]

import os
import pathlib
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import util  # noqa: E402


@pytest.fixture(scope="session")
def velerofs():
    b = util.velerofs_binary()
    if not b.is_file() or not os.access(b, os.X_OK):
        pytest.fail("%s not built: run `meson setup build && ninja -C build` "
                    "(or set VELEROFS_BUILD)" % b)
    return b


@pytest.fixture
def mount(velerofs, tmp_path):
    mounts = []
    counter = [0]

    def factory(vault, *, json=False, cache=None, allow_errors=False, args=(), mnt=None):
        counter[0] += 1
        base = tmp_path / ("m%d" % counter[0])
        base.mkdir(exist_ok=True)
        m = util.Mount(velerofs, vault, mnt or base / "mnt", cache or base / "cache",
                       json_view=json, args=args, allow_errors=allow_errors,
                       stderr_dir=base)
        mounts.append(m)
        try:
            m.start()
        except util.MountError as e:
            pytest.fail(str(e))
        return m

    yield factory

    problems = []
    for m in mounts:
        try:
            m.stop()
        finally:
            bad = m.problems()
            if bad:
                problems.append("%s (vault %s) wrote to stderr:\n%s\n--- full stderr ---\n%s"
                                % (m.path, m.vault, "\n".join(bad[:20]), m.stderr(all_runs=True)[-4000:]))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def shop_vault():
    v = util.SHOP_VAULT
    if not (v / "backups").is_dir():
        pytest.fail("example vault missing: %s" % v)
    return v


@pytest.fixture(scope="session")
def gen_vault(tmp_path_factory):
    """A generated vault (util.daily_vault) shared by the tests of a session."""
    return util.daily_vault(tmp_path_factory.mktemp("genvault"))
