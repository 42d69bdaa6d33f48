#!/usr/bin/env bash
# Validates the Kubernetes manifests offline: renders each overlay under deploy/kubernetes/overlays
# with kustomize and checks every object, and every file under deploy/kubernetes/platform, against
# the Kubernetes API schemas of a pinned version (kubernetes-validate, strict: unknown fields are
# errors). Custom resources (ServiceMonitor, the operators' resources) are listed as skipped with
# the reason (scripts/validate-kubernetes.py).
#
# Usage: scripts/validate-kubernetes.sh [--render-to DIR]
#   --render-to DIR  also keep each overlay's rendered objects as DIR/<overlay>.yaml
# Both tools are installed once under .tools and reused: kustomize built from its Go module,
# kubernetes-validate from PyPI into a Python environment. Needs go and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

kubernetes_version=1.32.0
kustomize_version=v5.7.1
validate_version=1.37.0
kustomize_dir=.tools/kustomize-$kustomize_version
kustomize=$kustomize_dir/kustomize
venv=.tools/kubernetes-validate

render_to=''
if [[ ${1:-} == --render-to ]]; then
  render_to=${2:?--render-to needs a directory}
  mkdir -p "$render_to"
fi

if [[ ! -x $kustomize ]]; then
  echo "building kustomize $kustomize_version into $kustomize_dir" >&2
  command -v go > /dev/null || { echo "go is not installed: it builds kustomize" >&2; exit 1; }
  mkdir -p "$kustomize_dir"
  # GOTOOLCHAIN=local: never download a toolchain; the module's own go.sum pins its dependencies.
  (cd "$kustomize_dir" && GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOBIN="$PWD" \
    go install "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version") >&2
fi

if [[ ! -x $venv/bin/python ]] || [[ "$("$venv/bin/pip" show kubernetes-validate 2> /dev/null | sed -n 's/^Version: //p')" != "$validate_version" ]]; then
  echo "installing kubernetes-validate $validate_version into $venv" >&2
  command -v python3 > /dev/null || { echo "python3 is not installed: it runs kubernetes-validate" >&2; exit 1; }
  # --clear: an environment moved or left half-built is made afresh, not patched.
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$validate_version"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

files=()
for overlay in deploy/kubernetes/overlays/*/; do
  name=$(basename "$overlay")
  "$kustomize" build "$overlay" > "$work/$name.yaml"
  [[ -z $render_to ]] || cp "$work/$name.yaml" "$render_to/$name.yaml"
  files+=("$work/$name.yaml")
done
files+=(deploy/kubernetes/platform/*.yaml)

"$venv/bin/python" scripts/validate-kubernetes.py "$kubernetes_version" "${files[@]}" | sed "s|$work/|overlay |"
