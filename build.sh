#!/usr/bin/env bash
# SegCluster build entry point.
#   ./build.sh            build the solution
#   ./build.sh test       install what the tests need when missing (redis-server, prometheus and promtool on PATH, where the
#                         tests look for them), build, run every test project
#   ./build.sh publish    framework-dependent publish of the CLI to artifacts/publish/segcluster
# Extra arguments after the verb go to dotnet (e.g. ./build.sh test -p:TorchBackend=cuda). For test, arguments after
# `--` and any --filter go to dotnet test only, the rest to both dotnet build and dotnet test:
#   ./build.sh test --filter "FullyQualifiedName~SpecFilesTests"
#   ./build.sh test -p:TorchBackend=cuda -- --filter "Category!=Slow" --blame-hang-timeout 10m
# (Category=Slow: tests of tens of seconds each or a second build; CI runs every test.)
# Test hosts run in blame mode: a host that crashes, or spends 20 minutes in one test, is ended and the tests it was
# running are named at the end (any --blame* argument of your own replaces these).
set -euo pipefail
cd "$(dirname "$0")"

verb="${1:-build}"
[ $# -gt 0 ] && shift
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

ensure_test_services() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  { command -v prometheus && command -v promtool; } >/dev/null 2>&1 || missing+=(prometheus)  # the package has both
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "build.sh: the tests need ${missing[*]} on PATH and there is no apt-get to install them;" \
      "install ${missing[*]} with this system's package manager (e.g. brew install redis prometheus) and re-run." >&2
    exit 1
  fi
  echo "build.sh: installing ${missing[*]} (apt)"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Splits test arguments: after `--` or a --filter → test_args (dotnet test only); the rest → build_args (both).
split_test_args() {
  build_args=(); test_args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --) shift; test_args+=("$@"); return ;;
      --filter) [ $# -ge 2 ] || { echo "build.sh: --filter needs an expression" >&2; exit 2; }
                test_args+=("$1" "$2"); shift 2 ;;
      --filter=*) test_args+=("$1"); shift ;;
      *) build_args+=("$1"); shift ;;
    esac
  done
}

case "$verb" in
  build)
    dotnet build SegCluster.sln -c Release "$@"
    ;;
  test)
    ensure_test_services
    split_test_args "$@"
    dotnet build SegCluster.sln -c Release ${build_args[@]+"${build_args[@]}"}
    results=artifacts/test-results
    rm -rf "$results"
    status=0
    # libtorch warns "Could not initialize NNPACK" once per thread on CPUs NNPACK does not know;
    # thousands of those lines would bury the results, so they are dropped from the console.
    # A 64 MB first generation: far fewer collections, so far fewer chances for TorchSharp's temporary-Scalar
    # finalizer race (docs/platform.md) to hit a test; the shipped images set the same.
    export DOTNET_GCgen0size="${DOTNET_GCgen0size:-0x4000000}"
    # A crashed test host leaves no failed test behind, and a hung one ran until CI's time limit ended everything, unnamed.
    # Blame names the tests each was running. Mini dumps: a full one of a process holding libtorch is gigabytes. The .NET
    # processes the tests start leave --blame-crash's settings out (tests/Shared/ChildProcesses.WithoutCrashDumps).
    blame=(--blame-crash --blame-crash-dump-type mini --blame-hang-timeout 20m --blame-hang-dump-type mini)
    for a in ${test_args[@]+"${test_args[@]}"}; do
      case "$a" in --blame*) blame=() ;; esac  # dotnet test refuses an option given twice
    done
    set +e
    dotnet test SegCluster.sln -c Release --no-build --logger "trx" --logger "console;verbosity=normal" \
      --results-directory "$results" ${blame[@]+"${blame[@]}"} ${build_args[@]+"${build_args[@]}"} ${test_args[@]+"${test_args[@]}"} 2>&1 |
      grep --line-buffered -v 'NNPACK.cpp.*Could not initialize NNPACK'
    status=${PIPESTATUS[0]}
    set -e
    # One closing line over every test project.
    passed=0; failed=0; skipped=0
    for trx in "$results"/*.trx; do
      [ -f "$trx" ] || continue
      counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
      p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
      t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters"); e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
      n=$(( ${t:-0} - ${e:-0} ))  # skipped tests are counted in total but not executed
      passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${n:-0}))
    done
    # Name every failure last, with its message, so a log cut to its tail still says what broke.
    if [ "$failed" -gt 0 ]; then
      echo "Failed tests:"
      for trx in "$results"/*.trx; do
        [ -f "$trx" ] || continue
        python3 - "$trx" <<'PY' || grep -o 'testName="[^"]*" [^>]*outcome="Failed"' "$trx"
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for r in ET.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult", ns):
    if r.get("outcome") != "Failed":
        continue
    message = r.findtext(".//t:ErrorInfo/t:Message", default="", namespaces=ns).strip()
    stack = r.findtext(".//t:ErrorInfo/t:StackTrace", default="", namespaces=ns).strip().splitlines()
    print(f"  {r.get('testName')}\n    {message[:2000]}")
    for line in stack[:8]:
        print(f"    {line.strip()}")
PY
      done
    fi
    # A run that failed with no failed test: a test host crashed or hung (its TRX says "aborted"), or wrote no TRX at all.
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
      echo "dotnet test exited ${status} with no failed test: a test host crashed or hung."
      for project in tests/*/*.Tests.csproj; do
        name=$(basename "$project" .csproj)
        trx=$(grep -liF -e "Discovering: ${name}" -e "/${name}.dll\"" "$results"/*.trx 2>/dev/null | head -1 || true)
        if [ -z "$trx" ]; then
          echo "  ${name}: wrote no TRX"
        elif reason=$(grep -o '<Text>The active test run was aborted[^<]*' "$trx" | head -1) && [ -n "$reason" ]; then
          echo "  ${name}: ${reason#<Text>}"
        fi
      done
      # Blame's sequence files mark the tests a host was running when it ended.
      running=$(find "$results" -name 'Sequence_*.xml' -exec grep -ho '<Test Name="[^"]*"[^>]*Completed="False"' {} + 2>/dev/null |
        sed 's/<Test Name="\([^"]*\)".*/\1/' | sort -u || true)
      if [ -n "$running" ]; then
        echo "  running when their test host ended:"
        sed 's/^/    /' <<<"$running"
      fi
    fi
    echo "${passed} passed, ${failed} failed, ${skipped} skipped"
    exit $status
    ;;
  publish)
    # Framework-dependent, natives for this machine only (libtorch for every OS would be ~1 GB).
    rid="$(dotnet --info | sed -n "s/^ *RID: *//p" | head -1)"
    dotnet publish src/SegCluster.Cli -c Release -r "${rid:-linux-x64}" --self-contained false -o artifacts/publish/segcluster "$@"
    ;;
  *)
    echo "usage: ./build.sh [build|test|publish] [dotnet args...] (test: [-- dotnet test args...])" >&2
    exit 2
    ;;
esac
