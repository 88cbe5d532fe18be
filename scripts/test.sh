#!/usr/bin/env bash
# Run kubeladder's whole test suite: every crate's unit, integration and doc tests.
# Installs the Debian packages the tests need (scripts/test-packages.txt) when missing and
# running as root; otherwise says which are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(grep -v '^\s*#' scripts/test-packages.txt | grep -v '^\s*$')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing test dependencies: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "error: missing Debian packages for the tests: ${missing[*]} (install them, or run as root)" >&2
    exit 2
  fi
fi

# Debian's kubectl 1.20 (kubernetes-client) conflicts with the kubectl package, so it is
# extracted, not installed; the simulator's tests run it from there.
debian_kubectl=target/debian-kubernetes-client
if [[ ! -x $debian_kubectl/usr/bin/kubectl ]]; then
  mkdir -p target/debs
  (cd target/debs && apt-get download -q kubernetes-client >/dev/null 2>&1) || {
    echo "error: cannot download Debian's kubernetes-client (apt-get download); run apt-get update first" >&2
    exit 2
  }
  dpkg-deb -x target/debs/kubernetes-client_*.deb "$debian_kubectl"
fi
export KUBELADDER_DEBIAN_KUBECTL="$PWD/$debian_kubectl/usr/bin/kubectl"

cargo nextest run --workspace --locked --no-fail-fast "$@"
cargo test --workspace --locked --doc
