#!/usr/bin/env bash
# Installs the real peers the tests drive (sipp, ffmpeg/ffprobe) when they are missing.
# Needs root (CI and the dev machines run as root); prints what it does.
set -euo pipefail
missing=()
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
{ command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; } || missing+=(ffmpeg)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-test-tools: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-tools: need root to install ${missing[*]} (apt-get); install them and rerun" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-test-tools: done"
