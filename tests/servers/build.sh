#!/usr/bin/env bash
# Build (or find in the cache) the real servers the tests run against.
#
#   tests/servers/build.sh [all|etcd|etcdctl|kube|minio|azurite|velero|plugin|pvbwriter|pvbwriter-old|restic|kopia|prune] ...
#
# Everything comes from package registries: Go modules from the Go module proxy, built with the
# machine's Go (GOTOOLCHAIN=local, CGO_ENABLED=0, -trimpath); Azurite from npm. Pins live in
# versions.env. Outputs go to ${VELEROFS_TEST_CACHE:-$HOME/.cache/velerofs-test}/<name>-<version>/,
# never into the repository. A component whose cache directory holds a matching .stamp is skipped,
# so reruns take seconds. GOMODCACHE and GOCACHE also live in the cache root.
#
# Environment: VELEROFS_TEST_CACHE (cache root), GO (go binary), NICE (default "nice -n 10";
# set NICE= to build at normal priority), VELEROFS_FORCE_BUILD=1 (ignore stamps).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$HERE/versions.env"
CACHE=${VELEROFS_TEST_CACHE:-$HOME/.cache/velerofs-test}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
NICE=${NICE-nice -n 10}

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="-trimpath -buildvcs=false -mod=mod"
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOPATH="$CACHE/go"
export GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}
# GOSUMDB stays on (sum.golang.org through the proxy); go.sum files are kept next to each go.mod.
# Exception: the checksum database (as reached here) has no entries for Velero's kopia fork
# pseudo-versions (lookup returns 404), so that one module is trusted on its committed go.sum lines.
export GONOSUMDB=${GONOSUMDB:-github.com/project-velero/kopia}

log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# stamp <dir> <key>: true if <dir>/.stamp holds <key>
stamped() { [ -z "${VELEROFS_FORCE_BUILD:-}" ] && [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }
# modkey <version> [files...]: the cache key of a component = its pin + its module files
modkey() {
  local v=$1 f files=(); shift
  for f in "$@"; do [ -f "$f" ] && files+=("$f"); done
  { echo "$v"; if [ ${#files[@]} -gt 0 ]; then cat "${files[@]}"; fi; } | sha256sum | cut -c1-16
}

# timed <name> <function> [args]: run and record the wall time
timed() {
  local name=$1; shift
  local t0; t0=$(date +%s)
  "$@"
  local dt=$(( $(date +%s) - t0 ))
  log "$name: ${dt}s"
  printf '%s %s %ss %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" "$dt" "$(nproc)cpu" >> "$CACHE/build-times.log"
}

# gomod_build <srcdir-in-repo> <workdir> <outdir> <ldflags> <extra-go-flags> <pkg...>
# Copies the small module (go.mod, go.sum) to <workdir> so the repo stays untouched, completes
# go.sum there if needed, and builds the packages into <outdir>.
gomod_build() {
  local src=$1 work=$2 out=$3 ldflags=$4 extra=$5; shift 5
  rm -rf "$work"; mkdir -p "$work" "$out"
  cp "$src/go.mod" "$work/"
  if [ -f "$src/main.go" ]; then cp "$src"/*.go "$work/"; fi
  [ -f "$src/go.sum" ] && cp "$src/go.sum" "$work/"
  if [ ! -f "$work/go.sum" ]; then
    log "  no go.sum in $src: running go mod tidy (copy $work/go.sum back into the repo)"
    (cd "$work" && $NICE "$GO" mod tidy)
  fi
  # shellcheck disable=SC2086
  (cd "$work" && $NICE "$GO" build $extra -ldflags "$ldflags" -o "$out/" "$@")
  if ! cmp -s "$work/go.sum" "$src/go.sum" 2>/dev/null; then
    log "  note: $work/go.sum differs from $src/go.sum (copy it back to pin the hashes)"
  fi
}

build_etcd() {
  local d="$CACHE/etcd-$ETCD_VERSION" key; key=$(modkey "$ETCD_VERSION" "$HERE/go/etcd/go.mod" "$HERE/go/etcd/go.sum")
  if stamped "$d" "$key" && [ -x "$d/bin/etcd" ]; then log "etcd $ETCD_VERSION: cached"; return; fi
  grep -qE "^\s*(require )?go.etcd.io/etcd/server/v3 $ETCD_VERSION( |\$)" "$HERE/go/etcd/go.mod" ||
    { log "go/etcd/go.mod does not require $ETCD_VERSION"; return 1; }
  log "etcd $ETCD_VERSION: building"
  rm -rf "$d/bin"
  gomod_build "$HERE/go/etcd" "$d/src" "$d/bin.tmp" "-s -w" "" go.etcd.io/etcd/server/v3
  mkdir -p "$d/bin"; mv "$d/bin.tmp/v3" "$d/bin/etcd" 2>/dev/null || mv "$d/bin.tmp/server" "$d/bin/etcd"
  rm -rf "$d/bin.tmp"
  echo "$key" > "$d/.stamp"
}

# etcdctl and etcdutl at the etcd pin (go/etcdctl/go.mod): the etcd-snapshot fixtures and bench
build_etcdctl() {
  local d="$CACHE/etcdctl-$ETCD_VERSION" key; key=$(modkey "$ETCD_VERSION" "$HERE/go/etcdctl/go.mod" "$HERE/go/etcdctl/go.sum")
  if stamped "$d" "$key" && [ -x "$d/bin/etcdctl" ] && [ -x "$d/bin/etcdutl" ]; then log "etcdctl $ETCD_VERSION: cached"; return; fi
  grep -qE "^\s*(require )?go.etcd.io/etcd/etcdctl/v3 $ETCD_VERSION( |\$)" "$HERE/go/etcdctl/go.mod" ||
    { log "go/etcdctl/go.mod does not require etcdctl $ETCD_VERSION"; return 1; }
  log "etcdctl+etcdutl $ETCD_VERSION: building"
  rm -rf "$d/bin"
  # go names a main package at .../etcdctl/v3 "etcdctl" (the element before the major version)
  gomod_build "$HERE/go/etcdctl" "$d/src" "$d/bin" "-s -w" "" go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/etcdutl/v3
  echo "$key" > "$d/.stamp"
}

build_kube() {
  local V=$KUBE_VERSION d="$CACHE/kube-$KUBE_VERSION" key; key=$(modkey "$KUBE_VERSION" "$HERE/go/kube/go.mod" "$HERE/go/kube/go.sum")
  if stamped "$d" "$key" && [ -x "$d/bin/kube-apiserver" ] && [ -x "$d/bin/kubectl" ]; then log "kube $V: cached"; return; fi
  grep -qE "^\s*(require )?k8s.io/kubernetes $V( |\$)" "$HERE/go/kube/go.mod" ||
    { log "go/kube/go.mod does not require k8s.io/kubernetes $V (regenerate its replace block)"; return 1; }
  log "kube-apiserver+kubectl $V: building (cold: 10-20 min on 2 cores)"
  local minor=${V#v1.}; minor=${minor%%.*}
  # the variables of kube::version::ldflags (kubernetes/kubernetes:hack/lib/version.sh)
  local LDF="-s -w" kv
  for kv in gitVersion=$V gitMajor=1 gitMinor=$minor gitTreeState=clean buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ); do
    LDF="$LDF -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
  done
  rm -rf "$d/bin"
  gomod_build "$HERE/go/kube" "$d/src" "$d/bin" "$LDF" "-pgo=off" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
  echo "$key" > "$d/.stamp"
}

build_minio() {
  local d="$CACHE/minio-$MINIO_VERSION" key; key=$(modkey "$MINIO_VERSION")
  if stamped "$d" "$key" && [ -x "$d/bin/minio" ]; then log "minio $MINIO_VERSION: cached"; return; fi
  log "minio $MINIO_VERSION: building"
  rm -rf "$d/bin"; mkdir -p "$d/bin"
  # minio/minio:Makefile builds with -tags kqueue; its go.mod has no replaces, so go install works.
  (cd "$d" && GOBIN="$d/bin" GOFLAGS="-trimpath -buildvcs=false" $NICE "$GO" install -tags kqueue -ldflags "-s -w" \
    "github.com/minio/minio@$MINIO_VERSION")
  echo "$key" > "$d/.stamp"
}

# restic: the restic CLI at the version the older Velero pin ships (Velero v1.12.3's Makefile:
# RESTIC_VERSION ?= 0.15.0), to write the committed tests/data/restic fixtures
# (tests/data/restic/make-fixture.py). Not part of "all": CI reads the committed fixtures.
# Note (2026-12-02): the module proxy reachable here answers 403 "not available" for
# github.com/restic/restic@v0.15.0; the committed fixture was written by Debian's restic 0.14.0
# (same repository format, version 2 with zstd), which make-fixture.py falls back to.
build_restic() {
  local d="$CACHE/restic-$RESTIC_VERSION" key; key=$(modkey "$RESTIC_VERSION")
  if stamped "$d" "$key" && [ -x "$d/bin/restic" ]; then log "restic $RESTIC_VERSION: cached"; return; fi
  log "restic $RESTIC_VERSION: building"
  rm -rf "$d/bin"; mkdir -p "$d/bin"
  (cd "$d" && GOBIN="$d/bin" GOFLAGS="-trimpath -buildvcs=false" $NICE "$GO" install -ldflags "-s -w" \
    "github.com/restic/restic/cmd/restic@$RESTIC_VERSION")
  echo "$key" > "$d/.stamp"
}

build_azurite() {
  local d="$CACHE/azurite-$AZURITE_VERSION" key; key=$(modkey "$AZURITE_VERSION")
  if stamped "$d" "$key" && [ -x "$d/node_modules/.bin/azurite-blob" ]; then log "azurite $AZURITE_VERSION: cached"; return; fi
  log "azurite $AZURITE_VERSION: npm install (node $(node --version))"
  rm -rf "$d"; mkdir -p "$d"
  echo '{"name":"velerofs-azurite","private":true}' > "$d/package.json"
  (cd "$d" && npm install --no-audit --no-fund --loglevel=error --save-exact "azurite@$AZURITE_VERSION" >&2)
  echo "$key" > "$d/.stamp"
}

build_velero_one() {
  local V=$1 d="$CACHE/velero-$1" src="$HERE/go/velero-$1" key
  key=$(modkey "$V" "$src/go.mod" "$src/go.sum")
  if stamped "$d" "$key" && [ -x "$d/bin/velero" ]; then log "velero $V: cached"; return; fi
  [ -f "$src/go.mod" ] || { log "missing $src/go.mod"; return 1; }
  grep -qE "^\s*(require )?github.com/vmware-tanzu/velero $V( |\$)" "$src/go.mod" ||
    { log "$src/go.mod does not require velero $V"; return 1; }
  log "velero $V: building"
  local sha
  sha=$(cd /tmp && "$GO" mod download -json "github.com/vmware-tanzu/velero@$V" 2>/dev/null |
        sed -n 's/.*"Hash": "\([0-9a-f]*\)".*/\1/p' | head -1) || true
  local LDF="-s -w -X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=$V"
  LDF="$LDF -X github.com/vmware-tanzu/velero/pkg/buildinfo.GitTreeState=clean"
  LDF="$LDF -X github.com/vmware-tanzu/velero/pkg/buildinfo.ImageRegistry=velero"  # Makefile: REGISTRY ?= velero
  [ -n "$sha" ] && LDF="$LDF -X github.com/vmware-tanzu/velero/pkg/buildinfo.GitSHA=$sha"
  rm -rf "$d/bin"
  gomod_build "$src" "$d/src" "$d/bin" "$LDF" "" github.com/vmware-tanzu/velero/cmd/velero
  echo "$key" > "$d/.stamp"
}

# pvbwriter: Velero's repository and kopia-uploader packages writing a pod volume backup (issue 15),
# from go/pvbwriter (main.go + go.mod pinned like go/velero-<first version>), or with an argument
# from go/pvbwriter-<version> (the older Velero releases of PVBWRITER_OLD_VERSIONS).
build_pvbwriter() {
  local src="$HERE/go/pvbwriter${1:+-$1}" d key
  [ -f "$src/go.mod" ] || { log "missing $src/go.mod"; return 1; }
  local V; V=$(sed -n 's/^\s*github.com\/vmware-tanzu\/velero \(v[^ ]*\).*/\1/p' "$src/go.mod" | head -1)
  d="$CACHE/pvbwriter-$V"
  key=$(modkey "$V" "$src/go.mod" "$src/go.sum" "$src/main.go")
  if stamped "$d" "$key" && [ -x "$d/bin/pvbwriter" ]; then log "pvbwriter (velero $V): cached"; return; fi
  log "pvbwriter (velero $V): building"
  rm -rf "$d/bin"
  gomod_build "$src" "$d/src" "$d/bin" "-s -w" "" .
  [ -x "$d/bin/pvbwriter" ] || mv "$d/bin/src" "$d/bin/pvbwriter"
  echo "$key" > "$d/.stamp"
}

# kopia: the kopia CLI of Velero's kopia fork at the version go/pvbwriter/go.mod pins (its replace of
# github.com/kopia/kopia), for bench/volumes.py's `kopia restore` baseline (issue 15). Not in `all`:
# CI does not need it. Built inside the fork's module directory (its main package imports kopia's
# internal/ packages, so it cannot be built from a module of ours), with the fork's own go.sum.
build_kopia() {
  local src="$HERE/go/pvbwriter" d key mod V
  mod=$(sed -n 's/^replace github.com\/kopia\/kopia => \([^ ]*\) \(v[^ ]*\).*/\1/p' "$src/go.mod")
  V=$(sed -n 's/^replace github.com\/kopia\/kopia => [^ ]* \(v[^ ]*\).*/\1/p' "$src/go.mod")
  [ -n "$mod" ] && [ -n "$V" ] || { log "kopia: no replace of github.com/kopia/kopia in $src/go.mod"; return 1; }
  d="$CACHE/kopia-$V"
  key=$(modkey "$mod@$V")
  if stamped "$d" "$key" && [ -x "$d/bin/kopia" ]; then log "kopia ($mod $V): cached"; return; fi
  log "kopia ($mod $V): building"
  rm -rf "$d/bin"; mkdir -p "$d/bin"
  # the fork's go.mod says "module github.com/kopia/kopia": fetched through a module of ours that
  # replaces it, as pvbwriter does, then built where it was unpacked
  rm -rf "$d/src"; mkdir -p "$d/src"
  printf 'module velerofs.test/kopiacli\n\ngo 1.26\n\nrequire github.com/kopia/kopia v0.16.0\n\nreplace github.com/kopia/kopia => %s %s\n' \
    "$mod" "$V" > "$d/src/go.mod"
  grep "^$mod $V" "$src/go.sum" > "$d/src/go.sum" || true
  (cd "$d/src" && $NICE "$GO" mod download -json github.com/kopia/kopia > mod.json)
  local dir; dir=$(sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p' "$d/src/mod.json" | head -1)
  [ -d "$dir" ] || { log "kopia: module not unpacked"; return 1; }
  (cd "$dir" && GOFLAGS="-trimpath -buildvcs=false -mod=readonly" $NICE "$GO" build -ldflags "-s -w" -o "$d/bin/kopia" .)
  echo "$key" > "$d/.stamp"
}

# pvbwriter at the older Velero releases users' repositories come from (kopia v0.10.7, v0.13.0)
build_pvbwriter_old() { local v; for v in $PVBWRITER_OLD_VERSIONS; do timed "pvbwriter-$v" build_pvbwriter "$v"; done; }

build_velero() { local v; for v in $VELERO_VERSIONS; do timed "velero-$v" build_velero_one "$v"; done; }

build_plugin() {
  local V=$VELERO_PLUGIN_AWS_VERSION d="$CACHE/velero-plugin-for-aws-$VELERO_PLUGIN_AWS_VERSION" key; key=$(modkey "$V")
  if stamped "$d" "$key" && [ -x "$d/plugins/velero-plugin-for-aws" ]; then log "velero-plugin-for-aws $V: cached"; return; fi
  log "velero-plugin-for-aws $V: building"
  rm -rf "$d"; mkdir -p "$d/plugins"
  # The plugin dir must hold only plugins: velero runs every executable under --plugin-dir.
  (cd "$d" && GOBIN="$d/plugins" GOFLAGS="-trimpath -buildvcs=false" $NICE "$GO" install -ldflags "-s -w" \
    "github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws@$V")
  echo "$key" > "$d/.stamp"
}

main() {
  local what=("$@"); [ ${#what[@]} -eq 0 ] && what=(all)
  log "cache: $CACHE; go: $("$GO" version); $(nproc) cpus; free disk: $(df -h --output=avail "$CACHE" | tail -1)"
  exec 9>"$CACHE/.build.lock"; flock 9
  local t0; t0=$(date +%s)
  local w
  for w in "${what[@]}"; do
    case $w in
      all) timed etcd build_etcd; timed etcdctl build_etcdctl; timed azurite build_azurite; timed minio build_minio
           timed kube build_kube; timed velero-plugin-for-aws build_plugin; build_velero
           timed pvbwriter build_pvbwriter ;;
      etcd) timed etcd build_etcd ;;
      etcdctl) timed etcdctl build_etcdctl ;;
      kube) timed kube build_kube ;;
      minio) timed minio build_minio ;;
      azurite) timed azurite build_azurite ;;
      velero) timed velero-plugin-for-aws build_plugin; build_velero ;;
      plugin) timed velero-plugin-for-aws build_plugin ;;
      pvbwriter) timed pvbwriter build_pvbwriter ;;
      pvbwriter-old) build_pvbwriter_old ;;
      restic) timed restic build_restic ;;
      kopia) timed kopia build_kopia ;;
      prune) # drop the Go module and build caches (~12 GB), keep the binaries (~0.7 GB)
        log "prune: removing $GOMODCACHE, $GOCACHE and the module copies"
        "$GO" clean -modcache || true
        rm -rf "$CACHE/go" "$CACHE"/*/src ;;
      *) echo "usage: $0 [all|etcd|etcdctl|kube|minio|azurite|velero|plugin|pvbwriter|pvbwriter-old|restic|kopia|prune]..." >&2; exit 2 ;;
    esac
  done
  log "total: $(( $(date +%s) - t0 ))s"
}

main "$@"
