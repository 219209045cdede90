#!/usr/bin/env bash
# Compiles and lints infra/ with the Bicep CLI restored from NuGet (tools/Bicep). Fails on any error or warning.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The bicep executable is a self-contained .NET app: no dependency on libicu, same behaviour on every machine.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1

bicep_version=0.49.2

echo "== bicep: restore Azure.Bicep.CommandLine.linux-x64 $bicep_version"
dotnet restore tools/Bicep/Bicep.csproj --nologo -v quiet

packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
bicep="$packages/azure.bicep.commandline.linux-x64/$bicep_version/tools/bicep"
if [[ ! -f "$bicep" ]]; then
  echo "bicep executable not found at $bicep" >&2
  exit 1
fi
[[ -x "$bicep" ]] || chmod +x "$bicep"
"$bicep" --version

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# Runs one bicep command; a non-zero exit or any warning or error in its output fails the step
# (bicepconfig.json makes linter rules errors; compiler diagnostics such as BCP081 are warnings).
run_bicep() {
  local log="$out/log"
  local rc=0
  "$bicep" "$@" >"$log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]] || grep -qiE '\b(warning|error)\b' "$log"; then
    cat "$log" >&2
    echo "bicep $* failed (exit $rc, diagnostics above)" >&2
    exit 1
  fi
  if [[ -s "$log" ]]; then
    cat "$log"
  fi
}

for template in infra/*.bicep; do
  echo "== bicep build $template"
  run_bicep build "$template" --outdir "$out"
  echo "== bicep lint $template"
  run_bicep lint "$template"
done

for params in infra/*.bicepparam; do
  echo "== bicep build-params $params"
  run_bicep build-params "$params" --outfile "$out/$(basename "$params" .bicepparam).parameters.json"
  echo "== bicep lint $params"
  run_bicep lint "$params"
done

echo "== bicep: infra/ builds and lints clean"
