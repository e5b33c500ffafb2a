"""etcd/k8s_types.c is what tools/k8s-protogen generates: the table and the generator
(and the Kubernetes version of its go.mod) never disagree.

Runs `go run .` in tools/k8s-protogen into a temporary file (the Go module cache of the
test servers is used when it exists, so no download is needed after build.sh) and
compares it with the committed table. Skipped, with a message, only when `go` is absent
(CI has Go).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GEN = REPO / "tools" / "k8s-protogen"
TABLE = REPO / "etcd" / "k8s_types.c"


def _go_env():
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=mod")
    cache = Path(os.environ.get("VELEROFS_TEST_CACHE") or Path.home() / ".cache" / "velerofs-test")
    if (cache / "go" / "mod").is_dir() and "GOMODCACHE" not in os.environ:
        env["GOMODCACHE"] = str(cache / "go" / "mod")
    return env


@pytest.fixture(scope="module")
def go():
    g = shutil.which("go")
    if not g:
        pytest.skip("go is not installed: the generated table can't be checked here (CI checks it)")
    return g


def test_table_is_what_the_generator_writes(go, tmp_path):
    out = tmp_path / "k8s_types.c"
    r = subprocess.run([go, "run", ".", "-o", str(out)], cwd=GEN, env=_go_env(),
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    want, got = TABLE.read_text(), out.read_text()
    if want != got:
        import difflib
        d = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                         "etcd/k8s_types.c", "generated", n=1))
        pytest.fail("etcd/k8s_types.c differs from what tools/k8s-protogen writes; run\n"
                    "  (cd tools/k8s-protogen && go run . -o ../../etcd/k8s_types.c)\n" + d[:6000])


def test_generator_is_pinned_to_the_test_apiserver():
    """go.mod's k8s.io/api is the v0.x.y of tests/servers/versions.env's KUBE_VERSION."""
    env = (REPO / "tests" / "servers" / "versions.env").read_text()
    kube = re.search(r"^KUBE_VERSION=v1\.(\d+)\.(\d+)", env, re.M)
    assert kube
    mod = (GEN / "go.mod").read_text()
    for m in ("k8s.io/api", "k8s.io/apimachinery", "k8s.io/apiextensions-apiserver",
              "k8s.io/kube-aggregator", "k8s.io/client-go"):
        assert re.search(rf"^\s*{re.escape(m)} v0\.{kube[1]}\.{kube[2]}( // indirect)?$", mod, re.M), m
    assert f"k8s.io/api v0.{kube[1]}.{kube[2]}" in TABLE.read_text()


def test_random_objects_of_every_kind_decode_as_go_writes_them(go, tmp_path):
    """Every field of every kind, not only what kubectl can set: the generator fills
    random objects (seeded), stores them with the apiserver's protobuf serializer, reads
    them back in Go and writes Go's JSON; test_k8s decodes the stored bytes and compares."""
    import util
    test = util.build_dir() / "etcd" / "test_k8s"
    if not test.is_file():
        pytest.fail(f"{test} not built: run `ninja -C {util.build_dir()}`")
    d = tmp_path / "samples"
    r = subprocess.run([go, "run", ".", "-samples", str(d), "-n", "3"], cwd=GEN, env=_go_env(),
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    assert len(list(d.glob("*.json"))) > 300
    r = subprocess.run([str(test), str(d)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-6000:]
