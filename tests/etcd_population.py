"""Fills a test kube-apiserver (tests/servers/harness.py) with every built-in kind it serves that can
be created without controllers, with many optional fields set, plus real CRDs with big schemas
(tests/data/real-crds/) and custom resources of them: the objects an etcd snapshot of the cluster
is then compared against (`kubectl get -o json` of the live server).

    from etcd_population import populate
    pop = populate(kube)              # a Population
    pop.created                       # [Obj(group, version, resource, kind, namespace, name)]
    pop.failed                        # [(Obj, reason)]: a create the server refused
    pop.not_covered                   # {"group/resource": why}: served and creatable, no manifest

With `KubeApiserver(etcd, encryption=True)` (harness.encryption_config()) Secrets are stored with
aescbc, ConfigMaps with aesgcm, ServiceAccounts, Deployments and widgets.crypt.velerofs.test with
secretbox; `rotate(kube, pop)` then restarts the server with the rotated configuration and writes
more of them, so that older keys and a second provider for Secrets appear in the same etcd.

Objects are created with POST (as `kubectl create`), by the token-admin user (system:masters).
Nothing here waits on time except for CRDs to become Established (polled, with a deadline).
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL_CRDS = HERE / "data" / "real-crds"
NS = "etcd-pop"  # the namespace most objects go into
NS2 = "etcd-pop-2"

# kinds that are served with a create verb but are not stored (reviews, bindings) or that the
# apiserver writes itself: why each one is not created here
NOT_STORED = {
    "authentication.k8s.io/tokenreviews": "a review: answered, never stored",
    "authentication.k8s.io/selfsubjectreviews": "a review: answered, never stored",
    "authorization.k8s.io/localsubjectaccessreviews": "a review: answered, never stored",
    "authorization.k8s.io/selfsubjectaccessreviews": "a review: answered, never stored",
    "authorization.k8s.io/selfsubjectrulesreviews": "a review: answered, never stored",
    "authorization.k8s.io/subjectaccessreviews": "a review: answered, never stored",
    "/bindings": "a Pod's binding: sets spec.nodeName, not stored as an object",
    "/componentstatuses": "read-only, computed (no create verb on a real server)",
    "internal.apiserver.k8s.io/storageversions": "alpha, served only with api/all: kube-apiserver "
                                                 "writes them itself (StorageVersionAPI gate)",
    "apiregistration.k8s.io/apiservices": "the apiserver registers one per served group/version "
                                          "itself (v1., v1.apps, v1.cert-manager.io ...); one "
                                          "pointing at a missing service would break discovery",
}


# created by server-side apply (managedFields with operation Apply, manager kubectl); the others
# by POST (operation Update, manager Python-urllib)
APPLIED_KINDS = {"Deployment", "Service", "Widget", "Prometheus", "Application", "Certificate"}


@dataclasses.dataclass(frozen=True)
class Obj:
    group: str
    version: str
    resource: str
    kind: str
    namespace: str | None
    name: str

    @property
    def gr(self) -> str:
        """Velero's directory name: "deployments.apps", "pods"."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespace:
            base += f"/namespaces/{self.namespace}"
        return f"{base}/{self.resource}/{self.name}"


@dataclasses.dataclass
class Population:
    created: list = dataclasses.field(default_factory=list)
    failed: list = dataclasses.field(default_factory=list)
    not_covered: dict = dataclasses.field(default_factory=dict)
    not_stored: dict = dataclasses.field(default_factory=dict)
    not_served: dict = dataclasses.field(default_factory=dict)  # beta_manifests() kinds

    def report(self) -> str:
        lines = [f"created {len(self.created)} objects of "
                 f"{len({o.gr for o in self.created})} resources"]
        for o, why in self.failed:
            lines.append(f"FAILED {o.gr} {o.namespace or '-'}/{o.name}: {why}")
        for r, why in sorted(self.not_covered.items()):
            lines.append(f"not covered {r}: {why}")
        for r, why in sorted(self.not_stored.items()):
            lines.append(f"not created {r}: {why}")
        for r, why in sorted(self.not_served.items()):
            lines.append(f"not served {r}: {why}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# discovery

def discover(kube) -> dict:
    """{(group, kind): (version, resource, namespaced, verbs)} for the preferred version of every
    served group, plus {"group/resource": ...} keys for lookup by resource."""
    out = {}
    groups = [("", "v1")]
    st, body = kube.request("GET", "/apis")
    if st != 200:
        raise RuntimeError(f"GET /apis: HTTP {st}: {body}")
    for g in body["groups"]:
        groups.append((g["name"], g["preferredVersion"]["version"]))
        # also the other versions (a kind only served at v1beta1 next to a v1 of others)
        for v in g["versions"]:
            if v["version"] != g["preferredVersion"]["version"]:
                groups.append((g["name"], v["version"]))
    for group, version in groups:
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        st, body = kube.request("GET", path)
        if st != 200:
            continue
        for r in body["resources"]:
            if "/" in r["name"]:
                continue
            key = (group, r["kind"])
            if key in out:  # the preferred version came first
                continue
            out[key] = (version, r["name"], r["namespaced"], tuple(r.get("verbs", ())))
    return out


# ---------------------------------------------------------------------------------------------
# manifests

def _labels(**extra):
    return {"app.kubernetes.io/name": "etcd-pop", "app.kubernetes.io/part-of": "velerofs-tests",
            **extra}


def _meta(name, ns=NS, **kw):
    m = {"name": name, "labels": _labels(), "annotations": {"velerofs.test/note": f"{name} ✓ ünïcode"}}
    if ns:
        m["namespace"] = ns
    m.update(kw)
    return m


def _pod_spec(node="etcd-pop-node-1", extra=None):
    spec = {
        "nodeName": node,
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 17,
        "activeDeadlineSeconds": 3600,
        "dnsPolicy": "ClusterFirst",
        "hostname": "web-0", "subdomain": "headless",
        "priority": 0,
        "enableServiceLinks": False,
        "serviceAccountName": "builder",
        "automountServiceAccountToken": False,
        "shareProcessNamespace": True,
        "hostAliases": [{"ip": "10.0.0.9", "hostnames": ["db.local", "db"]}],
        "dnsConfig": {"nameservers": ["10.0.0.10"], "searches": ["svc.cluster.local"],
                      "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]},
        "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000,
                            "runAsNonRoot": True, "supplementalGroups": [4000, 5000],
                            "seccompProfile": {"type": "RuntimeDefault"},
                            "sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65000"}]},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"},
                        {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                         "effect": "NoExecute", "tolerationSeconds": 300}],
        "affinity": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]},
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 10, "preference": {"matchExpressions": [
                        {"key": "zone", "operator": "NotIn", "values": ["z9"]}]}}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {
                    "labelSelector": {"matchLabels": {"app": "web"}},
                    "topologyKey": "kubernetes.io/hostname"}}]}},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone",
                                       "whenUnsatisfiable": "ScheduleAnyway",
                                       "labelSelector": {"matchLabels": {"app": "web"}}}],
        "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["sh", "-c", "true"],
                            "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}],
        "containers": [{
            "name": "web", "image": "nginx:1.27.3@sha256:" + "0" * 64,
            "imagePullPolicy": "IfNotPresent",
            "command": ["nginx"], "args": ["-g", "daemon off;"],
            "workingDir": "/srv",
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                      {"name": "dns", "containerPort": 53, "protocol": "UDP", "hostPort": 5353}],
            "env": [{"name": "PLAIN", "value": "v"},
                    {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "a",
                                                                           "optional": True}}},
                    {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "opaque", "key": "password"}}},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                                        "divisor": "1Mi"}}}],
            "envFrom": [{"prefix": "CM_", "configMapRef": {"name": "app-config"}}],
            "resources": {"requests": {"cpu": "250m", "memory": "64Mi", "ephemeral-storage": "1Gi"},
                          "limits": {"cpu": "1", "memory": "128Mi"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"},
                             {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True},
                             {"name": "tmp", "mountPath": "/tmp", "subPath": "t"}],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http",
                                          "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
                              "initialDelaySeconds": 3, "periodSeconds": 7, "failureThreshold": 4},
            "readinessProbe": {"tcpSocket": {"port": 8080}, "timeoutSeconds": 2},
            "startupProbe": {"exec": {"command": ["cat", "/ready"]}, "successThreshold": 1},
            "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}},
                          "postStart": {"httpGet": {"path": "/started", "port": 8080}}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "stdin": False, "tty": False,
        }],
        "volumes": [
            {"name": "data", "emptyDir": {"sizeLimit": "500Mi", "medium": "Memory"}},
            {"name": "cfg", "projected": {"defaultMode": 0o440, "sources": [
                {"configMap": {"name": "app-config", "items": [{"key": "a", "path": "a.txt"}]}},
                {"secret": {"name": "opaque"}},
                {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600, "audience": "vault"}}]}},
            {"name": "tmp", "hostPath": {"path": "/var/tmp", "type": "DirectoryOrCreate"}},
            {"name": "claim", "persistentVolumeClaim": {"claimName": "data-claim", "readOnly": True}},
            {"name": "nfs", "nfs": {"server": "10.0.0.50", "path": "/exports", "readOnly": True}},
            {"name": "csi", "csi": {"driver": "inline.csi.velerofs.test", "volumeAttributes": {"size": "1Gi"}}},
        ],
    }
    if extra:
        spec.update(extra)
    return spec


def _template(labels, **podextra):
    spec = _pod_spec(**podextra)
    spec.pop("nodeName")
    spec.pop("hostname")
    spec.pop("subdomain")
    spec.pop("activeDeadlineSeconds")  # controllers' templates refuse it
    return {"metadata": {"labels": labels, "annotations": {"checksum/config": "abc123"}}, "spec": spec}


def _filler(seed: int, n: int) -> str:
    """n bytes of varied, deterministic text."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "ümlaut", "ß"]
    out, i = [], seed
    size = 0
    while size < n:
        i = (i * 1103515245 + 12345) & 0x7FFFFFFF
        w = words[i % len(words)] + ("\n" if i % 7 == 0 else " ")
        out.append(w)
        size += len(w.encode())
    return "".join(out)


def _csr_pem() -> str:
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-subj", "/O=velerofs:testers/CN=jane", "-keyout", f"{d}/k", "-out", f"{d}/c"],
                       check=True, capture_output=True)
        return Path(f"{d}/c").read_text()


def builtin_manifests() -> list[dict]:
    """The manifests, in creation order (namespaces and referenced objects first, admission
    configuration last so that it affects nothing else here)."""
    sel = {"app": "web"}
    tpl = _template({"app": "web", "tier": "frontend"})
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    m = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": NS, "labels": _labels(team="a"), "annotations": {"owner": "team-a"}}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS2}, "spec": {"finalizers": ["kubernetes"]}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": "etcd-pop-node-1", "labels": {"kubernetes.io/os": "linux", "zone": "z1",
                                                  "node-role.kubernetes.io/worker": ""}},
         "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"], "providerID": "test://node-1",
                  "taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}],
                  "unschedulable": True}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("app-config"),
         "data": {"a": "1", "app.properties": "x=1\ny=2\n", "empty": ""},
         "binaryData": {"blob": base64.b64encode(bytes(range(256))).decode()}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("immutable-config"), "immutable": True,
         "data": {"k": "v"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "empty-config", "namespace": NS2}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("builder"),
         "secrets": [{"name": "builder-token"}], "imagePullSecrets": [{"name": "registry"}],
         "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": NS}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("opaque"), "type": "Opaque",
         "data": {"password": b64("s3cr3t"), "binary": base64.b64encode(bytes(range(200))).decode()},
         "stringData": {"user": "admin"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("tls"), "type": "kubernetes.io/tls",
         "data": {"tls.crt": b64("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
                  "tls.key": b64("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("registry"),
         "type": "kubernetes.io/dockerconfigjson",
         "data": {".dockerconfigjson": b64(json.dumps({"auths": {"registry.example": {"auth": b64("u:p")}}}))}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("basic"), "type": "kubernetes.io/basic-auth",
         "stringData": {"username": "u", "password": "p"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("ssh"), "type": "kubernetes.io/ssh-auth",
         "stringData": {"ssh-privatekey": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(
            "builder-token", annotations={"kubernetes.io/service-account.name": "builder"}),
         "type": "kubernetes.io/service-account-token"},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bootstrap-token-abcdef",
                                                            "namespace": "kube-system"},
         "type": "bootstrap.kubernetes.io/token",
         "stringData": {"token-id": "abcdef", "token-secret": "0123456789abcdef",
                        "usage-bootstrap-authentication": "true", "expiration": "2030-01-01T00:00:00Z"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("custom-type"), "type": "example.com/thing",
         "immutable": True, "data": {"k": ""}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta("web"),
         "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.20", "selector": sel,
                  "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                            {"name": "dns", "port": 53, "targetPort": 5353, "protocol": "UDP"}],
                  "sessionAffinity": "ClientIP",
                  "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}},
                  "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Local",
                  "publishNotReadyAddresses": True}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta("nodeport"),
         "spec": {"type": "NodePort", "selector": sel, "externalTrafficPolicy": "Local",
                  "ports": [{"port": 443, "targetPort": 8443, "nodePort": 30443, "appProtocol": "https"}],
                  "externalIPs": ["192.0.2.10"]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta("headless"),
         "spec": {"clusterIP": "None", "selector": sel, "ports": [{"port": 80}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta("lb"),
         "spec": {"type": "LoadBalancer", "selector": sel, "ports": [{"port": 80, "targetPort": 8080}],
                  "loadBalancerSourceRanges": ["203.0.113.0/24"], "allocateLoadBalancerNodePorts": False,
                  "loadBalancerClass": "example.com/lb"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta("external"),
         "spec": {"type": "ExternalName", "externalName": "db.example.com"}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": _meta("manual"),
         "subsets": [{"addresses": [{"ip": "10.244.1.5", "hostname": "a", "nodeName": "etcd-pop-node-1",
                                     "targetRef": {"kind": "Pod", "name": "web-0", "namespace": NS}}],
                      "notReadyAddresses": [{"ip": "10.244.1.6"}],
                      "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": _meta("manual-abcde", labels={"kubernetes.io/service-name": "manual"}),
         "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True, "serving": True,
                                                                     "terminating": False},
                        "hostname": "a", "nodeName": "etcd-pop-node-1", "zone": "z1",
                        "hints": {"forZones": [{"name": "z1"}]},
                        "targetRef": {"kind": "Pod", "name": "web-0", "namespace": NS}}],
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-nfs", "labels": _labels()},
         "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadOnlyMany"],
                  "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "standard",
                  "mountOptions": ["nfsvers=4.1", "hard"], "volumeMode": "Filesystem",
                  "nfs": {"server": "10.0.0.50", "path": "/exports/a"},
                  "claimRef": {"namespace": NS, "name": "data-claim"},
                  "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                      {"key": "zone", "operator": "In", "values": ["z1"]}]}]}}}},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-csi"},
         "spec": {"capacity": {"storage": "1Ti"}, "accessModes": ["ReadWriteOnce"],
                  "persistentVolumeReclaimPolicy": "Delete", "volumeMode": "Block",
                  "csi": {"driver": "csi.velerofs.test", "volumeHandle": "vol-0123", "fsType": "ext4",
                          "readOnly": False, "volumeAttributes": {"tier": "gold"},
                          "nodePublishSecretRef": {"name": "opaque", "namespace": NS}}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta("data-claim"),
         "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "standard", "volumeName": "pv-nfs",
                  "resources": {"requests": {"storage": "10Gi"}, "limits": {"storage": "20Gi"}},
                  "selector": {"matchLabels": {"app.kubernetes.io/name": "etcd-pop"}}, "volumeMode": "Filesystem"}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta("from-snapshot"),
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                  "dataSourceRef": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                                    "name": "snap-1"}}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
         "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
         "provisioner": "csi.velerofs.test", "parameters": {"type": "gp3", "iops": "3000"},
         "reclaimPolicy": "Retain", "allowVolumeExpansion": True, "volumeBindingMode": "WaitForFirstConsumer",
         "mountOptions": ["debug"],
         "allowedTopologies": [{"matchLabelExpressions": [{"key": "zone", "values": ["z1", "z2"]}]}]},
        {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": "csi.velerofs.test"},
         "spec": {"attachRequired": True, "podInfoOnMount": True, "fsGroupPolicy": "File",
                  "volumeLifecycleModes": ["Persistent", "Ephemeral"], "storageCapacity": True,
                  "requiresRepublish": False, "seLinuxMount": True,
                  "tokenRequests": [{"audience": "csi", "expirationSeconds": 3600}]}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": {"name": "etcd-pop-node-1"},
         "spec": {"drivers": [{"name": "csi.velerofs.test", "nodeID": "node-1",
                               "topologyKeys": ["zone"], "allocatable": {"count": 25}}]}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "CSIStorageCapacity", "metadata": _meta("cap-z1"),
         "storageClassName": "standard", "capacity": "100Gi", "maximumVolumeSize": "10Gi",
         "nodeTopology": {"matchLabels": {"zone": "z1"}}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttachment", "metadata": {"name": "va-1"},
         "spec": {"attacher": "csi.velerofs.test", "nodeName": "etcd-pop-node-1",
                  "source": {"persistentVolumeName": "pv-csi"}}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttributesClass", "metadata": {"name": "gold"},
         "driverName": "csi.velerofs.test", "parameters": {"iops": "5000", "throughput": "250"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta("reader"),
         "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
                   {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"],
                    "verbs": ["get", "patch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": _meta("reader"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": NS},
                      {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"},
                      {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "devs"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "etcd-pop:aggregate", "labels": _labels()},
         "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"etcd-pop/aggregate": "true"}}]}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "etcd-pop:nodes", "labels": {"etcd-pop/aggregate": "true"}},
         "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
                   {"nonResourceURLs": ["/healthz", "/metrics"], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "etcd-pop:nodes"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "etcd-pop:nodes"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:nodes"}]},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("web"),
         "spec": {"podSelector": {"matchLabels": sel}, "policyTypes": ["Ingress", "Egress"],
                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}},
                                         "podSelector": {"matchExpressions": [
                                             {"key": "role", "operator": "In", "values": ["fe"]}]}},
                                        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                               "ports": [{"protocol": "TCP", "port": 8080, "endPort": 8090}]}],
                  "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": "dns", "protocol": "UDP"}]}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
         "metadata": {"name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
         "spec": {"controller": "k8s.io/ingress-nginx",
                  "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters",
                                 "name": "p", "scope": "Namespace", "namespace": NS}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": _meta("web"),
         "spec": {"ingressClassName": "nginx",
                  "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
                  "tls": [{"hosts": ["shop.example.com"], "secretName": "tls"}],
                  "rules": [{"host": "shop.example.com", "http": {"paths": [
                      {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
                      {"path": "/static", "pathType": "Exact",
                       "backend": {"resource": {"apiGroup": "k8s.example.com", "kind": "Bucket", "name": "b"}}}]}}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": "extra-range"},
         "spec": {"cidrs": ["10.96.100.0/24"]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "IPAddress", "metadata": {"name": "10.96.100.7"},
         "spec": {"parentRef": {"group": "", "resource": "services", "namespace": NS, "name": "manual"}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": _meta("web-0", labels={"app": "web"},
                                                              ownerReferences=[]),
         "spec": _pod_spec()},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "minimal", "namespace": NS2},
         "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
        {"apiVersion": "v1", "kind": "PodTemplate", "metadata": _meta("tpl"), "template": tpl},
        {"apiVersion": "v1", "kind": "ReplicationController", "metadata": _meta("legacy"),
         "spec": {"replicas": 2, "minReadySeconds": 5, "selector": {"app": "web", "tier": "frontend"},
                  "template": tpl}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta("web"),
         "spec": {"replicas": 3, "revisionHistoryLimit": 4, "progressDeadlineSeconds": 300,
                  "minReadySeconds": 2, "paused": True,
                  "selector": {"matchLabels": sel,
                               "matchExpressions": [{"key": "tier", "operator": "Exists"}]},
                  "strategy": {"type": "RollingUpdate",
                               "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                  "template": tpl}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": _meta("web-5d9c7b"),
         "spec": {"replicas": 0, "selector": {"matchLabels": sel}, "template": tpl}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta("db"),
         "spec": {"serviceName": "headless", "replicas": 2, "podManagementPolicy": "Parallel",
                  "selector": {"matchLabels": sel}, "template": tpl,
                  "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1, "maxUnavailable": 1}},
                  "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
                  "ordinals": {"start": 5},
                  "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                            "spec": {"accessModes": ["ReadWriteOnce"],
                                                     "resources": {"requests": {"storage": "5Gi"}}}}]}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": _meta("agent"),
         "spec": {"selector": {"matchLabels": sel}, "template": tpl, "minReadySeconds": 1,
                  "updateStrategy": {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 0}}}},
        {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": _meta("db-7f9d"),
         "revision": 3, "data": {"spec": {"template": {"metadata": {"labels": sel}}}}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta("migrate"),
         "spec": {"parallelism": 2, "completions": 4, "completionMode": "Indexed", "backoffLimit": 3,
                  "backoffLimitPerIndex": 1, "maxFailedIndexes": 2,
                  "activeDeadlineSeconds": 600, "ttlSecondsAfterFinished": 100, "suspend": True,
                  "podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {
                      "containerName": "web", "operator": "In", "values": [42]}}]},
                  "template": _template({"job": "migrate"}, extra={"restartPolicy": "Never"})}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta("nightly"),
         "spec": {"schedule": "30 2 * * *", "timeZone": "Europe/Paris", "concurrencyPolicy": "Forbid",
                  "startingDeadlineSeconds": 120, "successfulJobsHistoryLimit": 1,
                  "failedJobsHistoryLimit": 2, "suspend": False,
                  "jobTemplate": {"metadata": {"labels": {"job": "nightly"}},
                                  "spec": {"template": _template({"job": "nightly"},
                                                                 extra={"restartPolicy": "OnFailure"})}}}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": _meta("web"),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                  "minReplicas": 2, "maxReplicas": 10,
                  "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                                  "type": "Utilization", "averageUtilization": 70}}},
                              {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
                                  "type": "AverageValue", "averageValue": "100"}}},
                              {"type": "External", "external": {"metric": {"name": "queue", "selector": {
                                  "matchLabels": {"q": "jobs"}}}, "target": {"type": "Value", "value": "1k"}}}],
                  "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Min",
                                             "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]},
                               "scaleUp": {"policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}]}}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta("web"),
         "spec": {"minAvailable": "50%", "selector": {"matchLabels": sel},
                  "unhealthyPodEvictionPolicy": "AlwaysAllow"}},
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "etcd-pop-high"},
         "value": 100000, "globalDefault": False, "preemptionPolicy": "Never", "description": "for tests"},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": _meta("limits"),
         "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
                              "defaultRequest": {"cpu": "100m"}, "max": {"memory": "1Gi"},
                              "maxLimitRequestRatio": {"cpu": "10"}},
                             {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}}]}},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": _meta("quota"),
         "spec": {"hard": {"pods": "50", "requests.cpu": "20", "limits.memory": "64Gi",
                           "count/deployments.apps": "10"},
                  "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In",
                                                          "values": ["etcd-pop-high"]}]}}},
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": _meta("leader"),
         "spec": {"holderIdentity": "web-0_1234", "leaseDurationSeconds": 15, "leaseTransitions": 3,
                  "acquireTime": "2026-01-02T03:04:05.123456Z", "renewTime": "2026-01-02T03:05:05.000001Z"}},
        {"apiVersion": "v1", "kind": "Event", "metadata": _meta("web-0.1800abcd"),
         "involvedObject": {"kind": "Pod", "namespace": NS, "name": "web-0", "apiVersion": "v1",
                            "fieldPath": "spec.containers{web}"},
         "reason": "Pulled", "message": "Container image already present", "type": "Normal", "count": 3,
         "source": {"component": "kubelet", "host": "etcd-pop-node-1"},
         "firstTimestamp": "2026-01-02T03:04:05Z", "lastTimestamp": "2026-01-02T03:06:05Z",
         "reportingComponent": "kubelet", "reportingInstance": "etcd-pop-node-1"},
        {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": _meta("web.1800abce"),
         "eventTime": "2026-01-02T03:04:05.000123Z", "reportingController": "example.com/ctl",
         "reportingInstance": "ctl-1", "action": "Scale", "reason": "ScaledUp", "type": "Warning",
         "note": "scaled to 3", "regarding": {"kind": "Deployment", "namespace": NS, "name": "web"},
         "series": {"count": 2, "lastObservedTime": "2026-01-02T03:05:05.000456Z"}},
        {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "gvisor"},
         "handler": "runsc", "overhead": {"podFixed": {"memory": "120Mi", "cpu": "250m"}},
         "scheduling": {"nodeSelector": {"runtime": "gvisor"},
                        "tolerations": [{"key": "runtime", "operator": "Exists", "effect": "NoSchedule"}]}},
        {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
         "metadata": {"name": "etcd-pop"},
         "spec": {"type": "Limited", "limited": {
             "nominalConcurrencyShares": 5, "lendablePercent": 10, "borrowingLimitPercent": 50,
             "limitResponse": {"type": "Queue", "queuing": {"queues": 16, "handSize": 4,
                                                             "queueLengthLimit": 50}}}}},
        {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": "etcd-pop"},
         "spec": {"priorityLevelConfiguration": {"name": "etcd-pop"}, "matchingPrecedence": 9000,
                  "distinguisherMethod": {"type": "ByUser"},
                  "rules": [{"subjects": [{"kind": "User", "user": {"name": "etcd-pop-nobody"}},
                                          {"kind": "ServiceAccount", "serviceAccount": {"name": "builder",
                                                                                      "namespace": NS}}],
                             "resourceRules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"],
                                                "namespaces": [NS]}],
                             "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/etcd-pop"]}]}]}},
        {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
         "metadata": {"name": "jane", "labels": _labels()},
         "spec": {"request": base64.b64encode(_csr_pem().encode()).decode(),
                  "signerName": "kubernetes.io/kube-apiserver-client", "expirationSeconds": 86400,
                  "usages": ["client auth", "digital signature"]}},
        {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "gpu.example.com"},
         "spec": {"selectors": [{"cel": {"expression": "device.driver == 'gpu.example.com'"}}],
                  "config": [{"opaque": {"driver": "gpu.example.com",
                                         "parameters": {"apiVersion": "gpu.example.com/v1", "kind": "Cfg",
                                                        "sharing": "timeSlicing"}}}]}},
        {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": _meta("gpu"),
         "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {
             "deviceClassName": "gpu.example.com", "allocationMode": "ExactCount", "count": 1}}]}}},
        {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate", "metadata": _meta("gpu-tpl"),
         "spec": {"spec": {"devices": {"requests": [{"name": "gpu", "exactly": {
             "deviceClassName": "gpu.example.com"}}]}}}},
        {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "node-1-gpu"},
         "spec": {"driver": "gpu.example.com", "nodeName": "etcd-pop-node-1",
                  "pool": {"name": "node-1", "generation": 1, "resourceSliceCount": 1},
                  "devices": [{"name": "gpu-0", "attributes": {"model": {"string": "A100"},
                                                               "index": {"int": 0}},
                               "capacity": {"memory": {"value": "40Gi"}}}]}},
        # big values: bbolt overflow pages, encrypted (aesgcm, aescbc) and large
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("big"),
         "data": {f"file-{i:03d}.txt": _filler(i, 7000) for i in range(100)}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("big"), "type": "Opaque",
         "data": {"blob": base64.b64encode(_filler(7, 300_000).encode()).decode()}},
        # admission configuration last: none of it matches the objects above
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
         "metadata": {"name": "etcd-pop-replicas"},
         "spec": {"failurePolicy": "Ignore",
                  "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                                                          "operations": ["CREATE", "UPDATE"],
                                                          "resources": ["deployments"]}],
                                       "objectSelector": {"matchLabels": {"etcd-pop/policy": "on"}}},
                  "validations": [{"expression": "object.spec.replicas <= 5", "message": "too many",
                                   "reason": "Invalid"}],
                  "auditAnnotations": [{"key": "replicas", "valueExpression": "string(object.spec.replicas)"}],
                  "variables": [{"name": "r", "expression": "object.spec.replicas"}]}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
         "metadata": {"name": "etcd-pop-replicas"},
         "spec": {"policyName": "etcd-pop-replicas", "validationActions": ["Warn", "Audit"],
                  "matchResources": {"namespaceSelector": {"matchLabels": {"etcd-pop/policy": "on"}}}}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
         "metadata": {"name": "etcd-pop"},
         "webhooks": [{"name": "validate.etcd-pop.velerofs.test", "admissionReviewVersions": ["v1"],
                       "sideEffects": "None", "failurePolicy": "Ignore", "timeoutSeconds": 2,
                       "matchPolicy": "Equivalent",
                       "clientConfig": {"url": "https://127.0.0.1:1/validate",
                                        "caBundle": base64.b64encode(b"not a CA").decode()},
                       "rules": [{"apiGroups": ["etcd-pop.invalid"], "apiVersions": ["v1"],
                                  "operations": ["CREATE"], "resources": ["things"], "scope": "Namespaced"}],
                       "namespaceSelector": {"matchLabels": {"etcd-pop/webhook": "on"}},
                       "matchConditions": [{"name": "never", "expression": "false"}]}]},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
         "metadata": {"name": "etcd-pop"},
         "webhooks": [{"name": "mutate.etcd-pop.velerofs.test", "admissionReviewVersions": ["v1"],
                       "sideEffects": "NoneOnDryRun", "failurePolicy": "Ignore", "reinvocationPolicy": "IfNeeded",
                       "clientConfig": {"service": {"namespace": NS, "name": "web", "path": "/mutate", "port": 443}},
                       "rules": [{"apiGroups": ["etcd-pop.invalid"], "apiVersions": ["*"],
                                  "operations": ["*"], "resources": ["*/*"]}],
                       "objectSelector": {"matchLabels": {"etcd-pop/webhook": "on"}}}]},
    ]
    return m


def beta_manifests() -> list[dict]:
    """Kinds kube-apiserver v1.34 serves only when asked (--runtime-config=api/all=true): created
    when served, else listed in Population.not_served."""
    return [
        {"apiVersion": "admissionregistration.k8s.io/v1beta1", "kind": "MutatingAdmissionPolicy",
         "metadata": {"name": "etcd-pop-defaults"},
         "spec": {"failurePolicy": "Ignore", "reinvocationPolicy": "Never",
                  "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                                                          "operations": ["CREATE"],
                                                          "resources": ["deployments"]}],
                                       "objectSelector": {"matchLabels": {"etcd-pop/policy": "on"}}},
                  "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {
                      "expression": "Object{metadata: Object.metadata{labels: {'mutated': 'yes'}}}"}}]}},
        {"apiVersion": "admissionregistration.k8s.io/v1beta1", "kind": "MutatingAdmissionPolicyBinding",
         "metadata": {"name": "etcd-pop-defaults"},
         "spec": {"policyName": "etcd-pop-defaults",
                  "matchResources": {"namespaceSelector": {"matchLabels": {"etcd-pop/policy": "on"}}}}},
        {"apiVersion": "coordination.k8s.io/v1beta1", "kind": "LeaseCandidate", "metadata": _meta("leader-a"),
         "spec": {"leaseName": "leader", "binaryVersion": "1.34.10", "emulationVersion": "1.34.0",
                  "strategy": "OldestEmulationVersion", "renewTime": "2026-01-02T03:04:05.000000Z",
                  "pingTime": "2026-01-02T03:04:00.000000Z"}},
        {"apiVersion": "resource.k8s.io/v1alpha3", "kind": "DeviceTaintRule", "metadata": {"name": "gpu-maint"},
         "spec": {"deviceSelector": {"driver": "gpu.example.com", "pool": "node-1", "device": "gpu-0"},
                  "taint": {"key": "maintenance", "value": "planned", "effect": "NoSchedule"}}},
    ]


# ---------------------------------------------------------------------------------------------
# CRDs and custom resources

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.crypt.velerofs.test"},
    "spec": {"group": "crypt.velerofs.test", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                               "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}},
                           "subresources": {"status": {}},
                           "additionalPrinterColumns": [{"name": "Size", "type": "integer",
                                                         "jsonPath": ".spec.size"}]}]}}


def custom_resources() -> list[dict]:
    return [
        {"apiVersion": "crypt.velerofs.test/v1", "kind": "Widget", "metadata": _meta("w1"),
         "spec": {"size": 3, "ratio": 0.25, "tags": ["a", "b"], "nested": {"deep": {"x": None, "y": True}},
                  "big": 9007199254740993, "text": "line1\nline2\t\u00e9"}},
        {"apiVersion": "crypt.velerofs.test/v1", "kind": "Widget", "metadata": _meta("w-big"),
         "spec": {"items": [{"i": i, "name": f"item-{i}", "on": i % 2 == 0, "w": i / 7}
                            for i in range(4000)]}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": _meta("shop-tls"),
         "spec": {"secretName": "tls", "duration": "2160h0m0s", "renewBefore": "360h0m0s",
                  "commonName": "shop.example.com", "dnsNames": ["shop.example.com", "www.shop.example.com"],
                  "ipAddresses": ["192.0.2.1"], "isCA": False, "usages": ["server auth", "client auth"],
                  "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                  "subject": {"organizations": ["Example"], "countries": ["FR"]},
                  "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"},
                  "secretTemplate": {"labels": {"a": "b"}, "annotations": {"c": "d"}}}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": _meta("k8s"),
         "spec": {"replicas": 2, "version": "v2.53.0", "retention": "15d", "retentionSize": "50GB",
                  "serviceAccountName": "builder", "scrapeInterval": "30s", "evaluationInterval": "30s",
                  "serviceMonitorSelector": {"matchLabels": {"team": "a"}},
                  "ruleSelector": {"matchExpressions": [{"key": "role", "operator": "In",
                                                         "values": ["alert-rules"]}]},
                  "resources": {"requests": {"memory": "400Mi", "cpu": "100m"}},
                  "securityContext": {"runAsUser": 1000, "fsGroup": 2000, "runAsNonRoot": True},
                  "storage": {"volumeClaimTemplate": {"spec": {"storageClassName": "standard",
                                                               "resources": {"requests": {"storage": "40Gi"}}}}},
                  "alerting": {"alertmanagers": [{"namespace": NS, "name": "alertmanager-main",
                                                  "port": "web", "apiVersion": "v2"}]},
                  "externalLabels": {"cluster": "test"},
                  "remoteWrite": [{"url": "https://remote.example.com/api/v1/write",
                                   "queueConfig": {"maxSamplesPerSend": 1000, "capacity": 2500},
                                   "writeRelabelConfigs": [{"sourceLabels": ["__name__"], "regex": "go_.*",
                                                            "action": "drop"}]}],
                  "tolerations": [{"key": "monitoring", "operator": "Exists"}]}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": _meta("web"),
         "spec": {"selector": {"matchLabels": {"app": "web"}}, "namespaceSelector": {"matchNames": [NS]},
                  "endpoints": [{"port": "http", "interval": "15s", "path": "/metrics", "scheme": "https",
                                 "tlsConfig": {"insecureSkipVerify": True},
                                 "metricRelabelings": [{"action": "keep", "regex": "http_.*",
                                                        "sourceLabels": ["__name__"]}]}]}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": _meta("shop"),
         "spec": {"description": "shop apps", "sourceRepos": ["https://github.com/example/*"],
                  "destinations": [{"namespace": NS, "server": "https://kubernetes.default.svc"}],
                  "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
                  "roles": [{"name": "ci", "policies": ["p, proj:shop:ci, applications, sync, shop/*, allow"],
                             "groups": ["ci-bots"]}]}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": _meta(
            "shop", finalizers=["resources-finalizer.argocd.argoproj.io"]),
         "spec": {"project": "shop",
                  "source": {"repoURL": "https://github.com/example/shop.git", "targetRevision": "v1.2.3",
                             "path": "deploy", "helm": {"valueFiles": ["values-prod.yaml"],
                                                        "parameters": [{"name": "image.tag", "value": "1.2.3"}]}},
                  "destination": {"server": "https://kubernetes.default.svc", "namespace": NS},
                  "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                 "syncOptions": ["CreateNamespace=true"],
                                 "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2,
                                                                   "maxDuration": "3m"}}},
                  "ignoreDifferences": [{"group": "apps", "kind": "Deployment",
                                         "jsonPointers": ["/spec/replicas"]}]}},
    ]


def crds() -> list[dict]:
    out = [copy.deepcopy(WIDGET_CRD)]
    for f in sorted(REAL_CRDS.glob("*.json")):
        out.append(json.loads(f.read_text()))
    return out


# ---------------------------------------------------------------------------------------------
# status (written through /status, as controllers and kubelets write it)

T0 = "2026-11-30T10:00:00Z"
T1 = "2026-11-30T10:00:05Z"


def _cond(t, status="True", reason="AsExpected", msg="", when=T0, **kw):
    c = {"type": t, "status": status, "lastTransitionTime": when, "reason": reason, "message": msg}
    c.update(kw)
    return c


def statuses() -> list[tuple[str, str | None, str, str, dict]]:
    """(apiVersion, namespace, resource, name, status) written after the creates."""
    ctr = {"name": "web", "image": "nginx:1.27.3", "imageID": "docker.io/library/nginx@sha256:" + "1" * 64,
           "containerID": "containerd://" + "a" * 64, "ready": True, "started": True, "restartCount": 2,
           "state": {"running": {"startedAt": T1}},
           "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": T0,
                                        "finishedAt": T1, "containerID": "containerd://" + "b" * 64}}}
    return [
        ("v1", None, "nodes", "etcd-pop-node-1", {
            "capacity": {"cpu": "8", "memory": "32823764Ki", "pods": "110", "ephemeral-storage": "101430960Ki",
                         "hugepages-2Mi": "0"},
            "allocatable": {"cpu": "7800m", "memory": "31721812Ki", "pods": "110"},
            "conditions": [
                _cond("Ready", reason="KubeletReady", msg="kubelet is posting ready status",
                      lastHeartbeatTime=T1),
                _cond("MemoryPressure", "False", "KubeletHasSufficientMemory", lastHeartbeatTime=T1)],
            "addresses": [{"type": "InternalIP", "address": "192.0.2.21"},
                          {"type": "Hostname", "address": "etcd-pop-node-1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": "m" * 32, "systemUUID": "0000-1111", "bootID": "b-1",
                         "kernelVersion": "6.1.0-28-amd64", "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "containerRuntimeVersion": "containerd://1.7.24", "kubeletVersion": "v1.34.10",
                         "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"},
            "images": [{"names": ["docker.io/library/nginx@sha256:" + "1" * 64, "docker.io/library/nginx:1.27.3"],
                        "sizeBytes": 72099410}],
            "volumesInUse": ["kubernetes.io/csi/csi.velerofs.test^vol-0123"],
            "volumesAttached": [{"name": "kubernetes.io/csi/csi.velerofs.test^vol-0123", "devicePath": ""}]}),
        ("v1", NS, "pods", "web-0", {
            "phase": "Running", "qosClass": "Burstable", "hostIP": "192.0.2.21",
            "hostIPs": [{"ip": "192.0.2.21"}], "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
            "startTime": T0,
            "conditions": [_cond("Ready", reason="", when=T1, lastProbeTime=None),
                           _cond("PodScheduled", reason="", lastProbeTime=None)],
            "initContainerStatuses": [{
                "name": "init", "image": "busybox:1.36", "imageID": "", "ready": True, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": T0,
                                         "finishedAt": T0}}}],
            "containerStatuses": [ctr]}),
        ("apps/v1", NS, "deployments", "web", {
            "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 2,
            "availableReplicas": 2, "unavailableReplicas": 1,
            "conditions": [_cond("Available", "False", "MinimumReplicasUnavailable", "2 of 3",
                                 lastUpdateTime=T1),
                           _cond("Progressing", reason="NewReplicaSetAvailable", lastUpdateTime=T1)]}),
        ("v1", NS, "persistentvolumeclaims", "data-claim", {
            "phase": "Bound", "accessModes": ["ReadWriteMany"], "capacity": {"storage": "10Gi"}}),
        ("v1", None, "persistentvolumes", "pv-nfs", {"phase": "Bound", "lastPhaseTransitionTime": T0}),
        ("v1", NS, "services", "lb", {
            "loadBalancer": {"ingress": [{"ip": "203.0.113.7", "ipMode": "VIP",
                                          "ports": [{"port": 80, "protocol": "TCP"}]}]}}),
        ("autoscaling/v2", NS, "horizontalpodautoscalers", "web", {
            "currentReplicas": 3, "desiredReplicas": 4, "lastScaleTime": T1,
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                "averageUtilization": 83, "averageValue": "207m"}}}],
            "conditions": [_cond("AbleToScale", reason="SucceededRescale")]}),
        ("policy/v1", NS, "poddisruptionbudgets", "web", {
            "observedGeneration": 1, "disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 2,
            "expectedPods": 3, "disruptedPods": {"web-0": T1},
            "conditions": [_cond("DisruptionAllowed", reason="SufficientPods", observedGeneration=1)]}),
        ("crypt.velerofs.test/v1", NS, "widgets", "w1", {"ready": True, "observed": 3, "at": T1}),
        ("cert-manager.io/v1", NS, "certificates", "shop-tls", {
            "notBefore": T0, "notAfter": "2027-02-28T10:00:00Z", "renewalTime": "2027-01-29T10:00:00Z",
            "revision": 1, "conditions": [_cond("Ready", reason="Ready", msg="up to date", observedGeneration=1)]}),
    ]


def _self_signed_pem() -> str:
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "30", "-subj", "/O=velerofs:testers/CN=jane",
                        "-keyout", f"{d}/k", "-out", f"{d}/c"], check=True, capture_output=True)
        return Path(f"{d}/c").read_text()


def _subresources(kube, pop: Population):
    """Writes only subresources accept: a CSR's approval and certificate, a Pod's ephemeral
    containers (kubectl debug)."""
    def put(path, sub, change):
        st, obj = kube.request("GET", path)
        if st == 200:
            change(obj)
            st, obj = kube.request("PUT", f"{path}/{sub}", obj)
        if st >= 300:
            msg = obj.get("message") if isinstance(obj, dict) else str(obj)[:300]
            pop.failed.append((Obj("", "", path, "", None, sub), f"{sub}: HTTP {st}: {msg}"))

    csr = "/apis/certificates.k8s.io/v1/certificatesigningrequests/jane"
    put(csr, "approval", lambda o: o.setdefault("status", {}).update(conditions=[
        _cond("Approved", reason="EtcdPopApproved", msg="approved by etcd_population", lastUpdateTime=T1)]))
    cert = base64.b64encode(_self_signed_pem().encode()).decode()
    put(csr, "status", lambda o: o["status"].update(certificate=cert))
    put(f"/api/v1/namespaces/{NS}/pods/web-0", "ephemeralcontainers",
        lambda o: o["spec"].setdefault("ephemeralContainers", []).append({
            "name": "debugger-x7k2p", "image": "busybox:1.36", "command": ["sh"], "stdin": True, "tty": True,
            "targetContainerName": "web", "terminationMessagePolicy": "File",
            "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}))


def _owners_and_deletions(kube, pop: Population):
    """ownerReferences as the Deployment and ReplicaSet controllers set them (Deployment ->
    ReplicaSet -> Pod), and deletions that wait: an object with a finalizer nobody removes keeps
    its deletionTimestamp; a namespace stays Terminating (no namespace controller here)."""
    def fail(path, what, st, body):
        msg = body.get("message") if isinstance(body, dict) else str(body)[:300]
        pop.failed.append((Obj("", "", path, "", None, what), f"{what}: HTTP {st}: {msg}"))

    dep = f"/apis/apps/v1/namespaces/{NS}/deployments/web"
    rs = f"/apis/apps/v1/namespaces/{NS}/replicasets/web-5d9c7b"
    pod = f"/api/v1/namespaces/{NS}/pods/web-0"
    for owner, kind, child in ((dep, "Deployment", rs), (rs, "ReplicaSet", pod)):
        st, o = kube.request("GET", owner)
        if st != 200:
            fail(owner, "owner", st, o)
            continue
        ref = {"apiVersion": "apps/v1", "kind": kind, "name": o["metadata"]["name"],
               "uid": o["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
        st, body = kube.request("PATCH", child, {"metadata": {"ownerReferences": [ref]}},
                                content_type="application/merge-patch+json")
        if st >= 300:
            fail(child, "ownerReferences", st, body)
    held = f"/api/v1/namespaces/{NS}/configmaps/immutable-config"
    st, body = kube.request("PATCH", held, {"metadata": {"finalizers": ["etcd-pop.velerofs.test/hold"]}},
                            content_type="application/merge-patch+json")
    if st < 300:
        st, body = kube.request("DELETE", held)
    if st >= 300:
        fail(held, "delete held", st, body)
    st, body = kube.request("DELETE", f"/api/v1/namespaces/{NS2}")
    if st >= 300:
        fail(NS2, "delete namespace", st, body)


def _set_statuses(kube, disc, pop: Population):
    for api_version, ns, resource, name, status in statuses():
        group, _, version = api_version.rpartition("/")
        if not any(g == group for g, _ in disc):  # populate(with_crds=False)
            continue
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        path = base + (f"/namespaces/{ns}" if ns else "") + f"/{resource}/{name}"
        st, obj = kube.request("GET", path)
        o = Obj(group, version, resource, obj.get("kind", "?") if isinstance(obj, dict) else "?", ns,
                name)
        if st == 200:
            obj["status"] = {**(obj.get("status") or {}), **status}
            st, body = kube.request("PUT", path + "/status", obj)
        else:
            body = obj
        if st >= 300:
            msg = body.get("message") if isinstance(body, dict) else str(body)[:300]
            pop.failed.append((o, f"status: HTTP {st}: {msg}"))


# ---------------------------------------------------------------------------------------------
# creating

def _create(kube, disc, doc, pop: Population) -> Obj | None:
    group, _, version = doc["apiVersion"].rpartition("/")
    d = disc.get((group, doc["kind"]))
    ns = doc["metadata"].get("namespace")
    if d is None:
        o = Obj(group, version, "?", doc["kind"], ns, doc["metadata"]["name"])
        pop.failed.append((o, f"{doc['apiVersion']} {doc['kind']} is not served"))
        return None
    sversion, resource, namespaced, _ = d
    if sversion != version:  # served at another version only
        o = Obj(group, version, resource, doc["kind"], ns, doc["metadata"]["name"])
        pop.failed.append((o, f"{doc['kind']} is served at {group}/{sversion}, not {version}"))
        return None
    o = Obj(group, version, resource, doc["kind"], ns if namespaced else None, doc["metadata"]["name"])
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    if namespaced:
        base += f"/namespaces/{ns}"
    if doc["kind"] in APPLIED_KINDS:  # server-side apply, as `kubectl apply --server-side`
        st, body = kube.request("PATCH", f"{o.path()}?fieldManager=kubectl&force=true", doc,
                                content_type="application/apply-patch+yaml")
    else:
        st, body = kube.request("POST", f"{base}/{resource}", doc)
    if st == 409:  # exists already (a second populate, or one the apiserver made: kube-system SAs)
        st, body = kube.request("GET", o.path())
    if st >= 300:
        msg = body.get("message") if isinstance(body, dict) else str(body)[:300]
        pop.failed.append((o, f"HTTP {st}: {msg}"))
        return None
    pop.created.append(o)
    return o


def _wait_established(kube, names, timeout=120.0):
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        for n in list(pending):
            st, body = kube.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{n}")
            conds = ((body.get("status") or {}).get("conditions") or []) if st == 200 else []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                pending.discard(n)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"CRDs not Established after {timeout:.0f}s: {sorted(pending)}")
        time.sleep(0.3)


def _wait_served(kube, groups_versions, timeout=120.0):
    deadline = time.monotonic() + timeout
    for gv in groups_versions:
        while kube.request("GET", f"/apis/{gv}")[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"/apis/{gv} not served after {timeout:.0f}s")
            time.sleep(0.3)


def populate(kube, with_crds: bool = True) -> Population:
    """Creates everything (see the module doc). Safe to call once per apiserver."""
    pop = Population()
    disc = discover(kube)
    for doc in builtin_manifests():
        _create(kube, disc, doc, pop)
    if with_crds:
        docs = crds()
        for doc in docs:
            _create(kube, disc, doc, pop)
        _wait_established(kube, [d["metadata"]["name"] for d in docs])
        _wait_served(kube, sorted({f"{d['spec']['group']}/{v['name']}" for d in docs
                                   for v in d["spec"]["versions"] if v.get("served")}))
        disc = discover(kube)
        for doc in custom_resources():
            _create(kube, disc, doc, pop)
    _set_statuses(kube, disc, pop)
    _subresources(kube, pop)
    _owners_and_deletions(kube, pop)
    for doc in beta_manifests():
        group, _, version = doc["apiVersion"].rpartition("/")
        d = disc.get((group, doc["kind"]))
        if d is None or d[0] != version:
            pop.not_served[f"{doc['apiVersion']} {doc['kind']}"] = (
                "not served by default (--runtime-config=api/all=true serves it)")
        else:
            _create(kube, disc, doc, pop)
    covered = {o.gr for o in pop.created} | {o.gr for o, _ in pop.failed}
    for (group, kind), (version, resource, namespaced, verbs) in disc.items():
        key = f"{group}/{resource}"
        gr = f"{resource}.{group}" if group else resource
        if "create" not in verbs or gr in covered:
            continue
        if key in NOT_STORED:
            pop.not_stored[key] = NOT_STORED[key]
        else:
            pop.not_covered[key] = f"{kind} ({group or 'core'}/{version}) has no manifest here"
    return pop


def rotate(kube, pop: Population) -> Population:
    """Key rotation (needs KubeApiserver(..., encryption=True)): restarts the server with
    harness.encryption_config(rotated=True) and writes new Secrets (now aesgcm), ConfigMaps
    (aesgcm, older key) and ServiceAccounts (secretbox, older key); the objects written before keep
    their aescbc/aesgcm/secretbox values under the first keys. Returns pop with the new objects."""
    from servers.harness import encryption_config
    kube.set_encryption(encryption_config(rotated=True))
    disc = discover(kube)
    for doc in [
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("after-rotation"), "type": "Opaque",
         "stringData": {"k": "written with aesgcm"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("after-rotation"),
         "data": {"k": "written with gcm-key-old"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("after-rotation")},
    ]:
        _create(kube, disc, doc, pop)
    return pop
