#!/usr/bin/env bash
# Prints the newest installed version of a .NET shared framework (Microsoft.NETCore.App, Microsoft.AspNetCore.App)
# of the major the app targets, as `dotnet --list-runtimes` (the dotnet on PATH) lists them; publish.sh packs it.
#   deploy/gpu/runtime-version.sh Microsoft.NETCore.App      -> e.g. 10.0.12
# The major comes from <TargetFramework>netN.M</TargetFramework> in Directory.Build.props: the packed app runs on
# that major only (it rolls forward across minor and patch versions, not majors), so a newer major installed here
# (an 11 preview) must not be picked. Fails, naming the framework and major, when none of that major is installed.
set -euo pipefail
framework="${1:?usage: runtime-version.sh Microsoft.NETCore.App|Microsoft.AspNetCore.App}"
props="$(dirname "$0")/../../Directory.Build.props"
major="$(sed -n 's|.*<TargetFramework>net\([0-9][0-9]*\)\.[0-9][0-9]*</TargetFramework>.*|\1|p' "$props" | head -1)"
if [ -z "$major" ]; then
  echo "runtime-version.sh: no <TargetFramework>netN.M</TargetFramework> in $props" >&2
  exit 1
fi
# Release versions only ("10.0.12"; previews such as 10.0.0-rc.1.x do not match).
version="$(dotnet --list-runtimes | sed -n "s/^$framework \($major\.[0-9.]*\) .*/\1/p" | sort -V | tail -1)"
if [ -z "$version" ]; then
  echo "runtime-version.sh: no $framework $major.* runtime is installed (the app targets net$major); dotnet --list-runtimes shows:" >&2
  dotnet --list-runtimes | sed 's/^/  /' >&2
  exit 1
fi
echo "$version"
