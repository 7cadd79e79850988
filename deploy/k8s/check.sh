#!/usr/bin/env bash
# Renders each overlay with kubectl kustomize and validates every document offline against the
# Kubernetes API schemas, strictly (unknown fields are errors). Run from the repository root:
#   deploy/k8s/check.sh [OVERLAY...]        (default: every directory in deploy/k8s/overlays)
# Needs kubectl (kustomize v5) and node, and the validator installed once beforehand:
#   npm ci --prefix deploy/k8s/validator    (kubernetes-models, typescript, yaml; pinned)
# (SB_K8S_VALIDATOR names another folder holding validate.mjs and its node_modules: the test
# suite installs it into the build tree.) Nothing is downloaded here. Exit 0: all valid;
# 1: a render or schema error; 2: setup missing; 77: kubectl has no kustomize v5 (skip).
set -euo pipefail
dir=deploy/k8s
validator=${SB_K8S_VALIDATOR:-$dir/validator}
command -v kubectl >/dev/null || { echo "check.sh: kubectl not found" >&2; exit 2; }
command -v node >/dev/null || { echo "check.sh: node not found" >&2; exit 2; }
# Debian's kubernetes-client (1.20) carries kustomize v2, which cannot read these files.
if ! kubectl version --client 2>/dev/null | grep -q '^Kustomize Version: v[5-9]'; then
  echo "check.sh: SKIP: kubectl without kustomize v5 (needs kubectl >= 1.27)" >&2
  exit 77
fi
if [ ! -d "$validator/node_modules/kubernetes-models" ]; then
  echo "check.sh: validator not installed; run: npm ci --prefix $validator" >&2
  exit 2
fi
if [ $# -eq 0 ]; then
  set --
  for o in "$dir"/overlays/*/; do set -- "$@" "$(basename "$o")"; done
fi
echo "kubectl $(kubectl version --client 2>/dev/null | sed -n 's/^Client Version: //p'), $(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: /kustomize /p')"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
for o in "$@"; do
  if ! kubectl kustomize "$dir/overlays/$o" >"$tmp/$o.yaml" 2>"$tmp/$o.err"; then
    echo "$o: render failed:"
    sed 's/^/  /' "$tmp/$o.err" | head -20
    failed=1
    continue
  fi
  node "$validator/validate.mjs" "$o" <"$tmp/$o.yaml" || failed=1
done
if [ $failed -ne 0 ]; then echo "check.sh: FAILED"; else echo "check.sh: all overlays valid"; fi
exit $failed
