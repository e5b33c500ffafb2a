"""Issue 13: a malformed file copied into restore/ fails at close() with
an errno that says what kind of problem it is (what cp can print), and
the parser's own words - file, line and column - are in the job's report
and in restore/status."""
import os
import re

from test_restore_mount import cp, restore_mount, unique_ns, wait_job


def status_row(m, source):
    rows = [l for l in (m / "restore/status").read_text().splitlines()[1:] if source in l]
    assert len(rows) == 1, rows
    return rows[0]


def test_parse_error_reason(mount, shop_vault, kube, tmp_path):
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    bad = tmp_path / "bad-indent.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [\n")
    r = cp(bad, m / "restore/", check=False)
    assert r.returncode != 0
    # cp: failed to close '.../bad-indent.yaml': Invalid argument
    assert "bad-indent.yaml" in r.stderr and "Invalid argument" in r.stderr, r.stderr
    report = wait_job(m)
    where = re.search(r"^rejected: bad-indent\.yaml: line (\d+) column (\d+): (.+)$", report, re.M)
    assert where and where.group(1) == "5", report
    row = status_row(m, "bad-indent.yaml")
    assert row.split()[1] == "rejected", row
    assert where.group(0) in row, row
    # not YAML's problem but Kubernetes': the document that lacks a name
    nameless = tmp_path / "nameless.yaml"
    nameless.write_text("apiVersion: v1\nkind: ConfigMap\ndata: {}\n---\n"
                        "apiVersion: v1\nkind: Secret\nmetadata: {}\n")
    r = cp(nameless, m / "restore/", check=False)
    assert r.returncode != 0 and "Invalid argument" in r.stderr, r.stderr
    report = wait_job(m)
    assert re.search(r"^rejected: nameless\.yaml: line 1 column 1: ConfigMap has no metadata", report, re.M), report
    assert "nameless.yaml: line 1 column 1: ConfigMap has no metadata" in status_row(m, "nameless.yaml")
    # JSON: jansson's position
    js = tmp_path / "cut.json"
    js.write_text('{"apiVersion": "v1",\n "kind": "ConfigMap",\n "metadata": {"name": "x"},\n')
    r = cp(js, m / "restore/", check=False)
    assert r.returncode != 0 and "Invalid argument" in r.stderr, r.stderr
    assert re.search(r"^rejected: cut\.json: line \d+ column \d+: ", wait_job(m), re.M)


def test_too_large_is_efbig_and_never_applied(mount, shop_vault, kube, tmp_path):
    """Past 64 MiB: "File too large" (at the write that crosses the bound,
    and at close), the report says so, and the 64 MiB that were kept - a
    valid YAML file on their own - are not applied."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    ns = unique_ns("big")
    big = tmp_path / "big.yaml"
    head = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: %s\n"
            "data:\n  k: v\n" % ns).encode()
    with open(big, "wb") as f:
        f.write(head)
        line = b"# " + b"x" * 1021 + b"\n"
        for _ in range(65 * 1024):
            f.write(line)
    r = cp(big, m / "restore/", check=False)
    assert r.returncode != 0 and "File too large" in r.stderr, r.stderr
    report = wait_job(m)
    assert "state rejected" in report and "larger than 64 MiB" in report, report
    assert "larger than 64 MiB" in status_row(m, "big.yaml")
    assert kube.request("GET", "/api/v1/namespaces/%s/configmaps/big" % ns)[0] == 404


def test_too_many_objects_is_efbig(mount, shop_vault, kube, tmp_path):
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    many = tmp_path / "many.yaml"
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%d\n---\n"
    many.write_text("".join(doc % i for i in range(10001)))
    r = cp(many, m / "restore/", check=False)
    assert r.returncode != 0 and "File too large" in r.stderr, r.stderr
    report = wait_job(m)
    assert re.search(r"^rejected: many\.yaml: line \d+ column \d+: more than 10000 objects", report, re.M), report
    assert "more than 10000 objects" in status_row(m, "many.yaml")
