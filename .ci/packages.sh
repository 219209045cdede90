#!/usr/bin/env bash
# Packs every package, then uses them as a user would, from a local folder feed (no project references):
# builds both samples against them, runs the worker sample's batch on Azurite, checks the Functions sample's
# functions.metadata, and installs the durablejobs .NET tool and runs the main job with it outside the repository
# (so the pinned Azurite is installed into a per-user folder). A file missing from a package fails here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
feed="$work/packages"

echo "== packages: dotnet pack"
dotnet pack DurableJobs.sln -c Release -o "$feed" --nologo -v quiet
ls "$feed"/*.nupkg | sed 's#.*/#  #'
# Every package the README lists, and no other: a project that stopped packing (or a new one) fails here.
expected="DurableJobs.Api DurableJobs.AzureStorage DurableJobs.Cli DurableJobs.Client DurableJobs.Core DurableJobs.Engine DurableJobs.Functions DurableJobs.Orchestration DurableJobs.Telemetry DurableJobs.Testing"
packed="$(ls "$feed"/*.nupkg | sed -E 's#.*/##; s#\.[0-9]+\.[0-9]+\.[0-9]+.*##' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
if [ "$packed" != "$expected" ]; then
  echo "packed: $packed" >&2
  echo "expected: $expected" >&2
  exit 1
fi
version="$(dotnet msbuild src/DurableJobs.Core -getProperty:PackageVersion -p:Configuration=Release)"

# The same version may be in the NuGet cache from an earlier run with other contents: always take this run's.
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/durablejobs.*
sources=(--source "$feed" --source https://api.nuget.org/v3/index.json)

for sample in WorkerService FunctionsApp; do
  echo "== packages: samples/$sample against DurableJobs $version from the local feed"
  dotnet restore "samples/$sample" -p:DurableJobsPackageVersion="$version" "${sources[@]}" --nologo -v quiet
  dotnet build "samples/$sample" -c Release --no-restore -p:DurableJobsPackageVersion="$version" --nologo -v quiet
  if grep -q '"type": "project"' "samples/$sample/obj/project.assets.json"; then
    echo "samples/$sample still resolved a project reference" >&2
    exit 1
  fi
done

echo "== packages: the Functions sample declares every DurableJobs function"
python3 - "$repo/samples/FunctionsApp/bin/Release/net10.0/functions.metadata" <<'PY'
import json, sys
names = sorted(f["name"] for f in json.load(open(sys.argv[1])))
expected = sorted(["BatchHookOrchestrator", "BatchOrchestrator", "BatchPartOrchestrator", "BatchQueueTrigger", "CancelBatch", "DeleteBatch", "DeleteSchedule",
                   "DeliverBatchHook", "ExecuteJobs", "FindRunningBatches", "GetBatch", "GetBatchJobs", "GetBatchTimeline", "GetLimitTimeline", "GetSchedule", "Health",
                   "ListBatches", "ListLimits", "ListSchedules", "PatchBatch", "PauseBatch", "PauseSchedule", "RecordUnstarted", "RerunBatch",
                   "ResumeBatch", "ResumeSchedule", "RetentionSweep", "ScheduleOrchestrator", "SetLimit", "SetSchedule", "SignalCancel", "StartScheduledBatch",
                   "SubmitBatch", "TriggerSchedule"])
if names != expected:
    sys.exit(f"functions.metadata lists {names}, expected {expected}")
print(f"  {len(names)} functions")
PY

echo "== packages: the worker sample runs its batch with its own handlers on Azurite"
(cd "$work" && DurableJobs__Azurite__BlobPort=10100 dotnet "$repo/samples/WorkerService/bin/Release/net10.0/WorkerService.dll" submit "$repo/samples/WorkerService/batch.json")

echo "== packages: dotnet tool install DurableJobs.Cli, then durablejobs run outside the repository"
dotnet tool install DurableJobs.Cli --version "$version" --tool-path "$work/tool" --add-source "$feed" >/dev/null
mkdir "$work/elsewhere"
(cd "$work/elsewhere" && DURABLEJOBS_CACHE="$work/cache" DurableJobs__Azurite__BlobPort=10110 "$work/tool/durablejobs" run "$repo/samples/quick.json")

# Leave the samples' obj/ as the repository's own build expects it (project references).
dotnet restore samples/WorkerService --nologo -v quiet
dotnet restore samples/FunctionsApp --nologo -v quiet
