#!/usr/bin/env python3
"""Regenerates tests/data/real-crds/*.json: CustomResourceDefinitions of real projects at pinned
tags, for the etcd-snapshot tests (big, deep OpenAPI schemas as kube-apiserver stores them).

Source: the Go module proxy (the module zip of each project's tag holds its CRD manifests), checked
against the sha256 pinned here. Each CRD is written as one line of compact JSON, with every
`description` cut to 60 characters (the schemas' structure is kept whole; the descriptions are
most of the bytes). Run from anywhere: `python3 tests/data/real-crds/fetch.py`.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import urllib.request
import zipfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
PROXY = "https://proxy.golang.org"

# module, version, sha256 of the module zip, {file in the module: output name}
PINS = [
    ("github.com/cert-manager/cert-manager", "v1.21.2",
     "cfaf1fb53965a5fd60490861387b7dbf34cd40987c878a4f1e247f836eef4782",
     {"deploy/crds/cert-manager.io_certificates.yaml": "certificates.cert-manager.io.json"}),
    ("github.com/prometheus-operator/prometheus-operator", "v0.85.0",
     "0bdb88ed823d0f2e86cf909638439b6ad1da744a228172c7411d9987527dc5d1",
     {"example/prometheus-operator-crd/monitoring.coreos.com_prometheuses.yaml":
      "prometheuses.monitoring.coreos.com.json",
      "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml":
      "servicemonitors.monitoring.coreos.com.json"}),
    ("github.com/argoproj/argo-cd/v2", "v2.14.21",
     "e4692c5603777afe9f7c105603c05f343d197609300039167e19c8d6739786d1",
     {"manifests/crds/application-crd.yaml": "applications.argoproj.io.json",
      "manifests/crds/appproject-crd.yaml": "appprojects.argoproj.io.json"}),
]

DESC_MAX = 60


def trim(o):
    if isinstance(o, dict):
        return {k: (v[:DESC_MAX] if k == "description" and isinstance(v, str) else trim(v))
                for k, v in o.items()}
    if isinstance(o, list):
        return [trim(x) for x in o]
    return o


def main() -> int:
    for module, version, sha, files in PINS:
        url = f"{PROXY}/{module}/@v/{version}.zip"
        with urllib.request.urlopen(url, timeout=300) as r:
            data = r.read()
        got = hashlib.sha256(data).hexdigest()
        if got != sha:
            print(f"{url}: sha256 {got}, pinned {sha}", file=sys.stderr)
            return 1
        z = zipfile.ZipFile(io.BytesIO(data))
        for inner, out in files.items():
            docs = [d for d in yaml.safe_load_all(z.read(f"{module}@{version}/{inner}")) if d]
            crd = docs[0]
            assert crd["kind"] == "CustomResourceDefinition", inner
            crd.setdefault("metadata", {}).setdefault("annotations", {})[
                "velerofs.test/source"] = f"{module}@{version}/{inner}"
            (HERE / out).write_text(json.dumps(trim(crd), separators=(",", ":")) + "\n")
            print(f"{out}: {module}@{version}/{inner}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
