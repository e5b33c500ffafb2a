"""Session-scoped pytest fixtures for the real test servers (see harness.py).

Enable with `pytest_plugins = ["servers.pytest_plugin"]` in tests/conftest.py (tests/ on sys.path).

Fixtures: etcd, kube (KubeApiserver on etcd), minio (Minio with bucket `velero`),
azurite (Azurite). A server is started the first time a test asks for it and stopped at the
end of the session (also when tests fail; atexit and SIGTERM handlers back this up).

If a server cannot be built or started, the fixture FAILS with the server's log tail: a test
that needs a real server never silently skips. The binaries come from tests/servers/build.sh;
set VELEROFS_TEST_BUILD=1 to let the fixture run that build when a binary is missing.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from . import harness


def _ensure_built(target: str) -> None:
    if os.environ.get("VELEROFS_TEST_BUILD", "") in ("", "0"):
        return
    r = subprocess.run([str(harness.HERE / "build.sh"), target], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"tests/servers/build.sh {target} failed (status {r.returncode}):\n"
                    + "\n".join(r.stderr.splitlines()[-40:]), pytrace=False)


def _start(server: harness.Server, target: str):
    _ensure_built(target)
    try:
        server.start()
    except harness.ServerError as e:
        server.stop()
        pytest.fail(f"{server.name} could not start: {e}", pytrace=False)
    return server


@pytest.fixture(scope="session")
def etcd():
    s = _start(harness.Etcd(), "etcd")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def kube(etcd):
    """A KubeApiserver: .url, .kubeconfig, .ca_file, .tokens, .kubectl(...), .request(...), .apply(...)."""
    s = _start(harness.KubeApiserver(etcd), "kube")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def minio():
    """A Minio with bucket `velero`: .url, .access_key, .secret_key, .region, .s3(...), .put/.get/.list_keys."""
    s = _start(harness.Minio(), "minio")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def azurite():
    """An Azurite blob service: .url, .accounts {name: key}, .endpoint(acct), .connection_string(acct)."""
    s = _start(harness.Azurite(), "azurite")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def kube_encrypted():
    """A KubeApiserver on an etcd of its own (.etcd), with encryption at rest
    (harness.encryption_config(): Secrets aescbc, ConfigMaps aesgcm, ServiceAccounts, Deployments
    and widgets.crypt.velerofs.test secretbox) and the default --etcd-prefix=/registry, as a real
    cluster's etcd holds it. Its config is at .encryption_file."""
    e = _start(harness.Etcd(), "etcd")
    s = _start(harness.KubeApiserver(e, encryption=True, etcd_prefix="/registry"), "kube")
    yield s
    s.stop()
    e.stop()


@pytest.fixture(scope="session")
def populated_kube(kube_encrypted):
    """(kube, population): kube_encrypted filled by etcd_population.populate() (every creatable
    built-in kind, real CRDs and custom resources), then a key rotation (etcd_population.rotate):
    all three providers and older keys appear in its etcd. Tests must not change these objects
    (make their own)."""
    import etcd_population
    pop = etcd_population.populate(kube_encrypted)
    if pop.failed or pop.not_covered:
        pytest.fail("populating the apiserver:\n" + pop.report(), pytrace=False)
    etcd_population.rotate(kube_encrypted, pop)
    if pop.failed:
        pytest.fail("after the key rotation:\n" + pop.report(), pytrace=False)
    return kube_encrypted, pop
