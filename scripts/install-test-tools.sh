#!/usr/bin/env bash
# Installs the real peers the tests drive when they are missing: sipp (call controller), ffmpeg/ffprobe
# (media sender and checker), baresip (SIP over TLS with SRTP) and bcg729's headers (a test-only G.729
# encoder, GPL: it never links into Verbatim), curl (an HTTP client for the API port's HTTPS and
# plain HTTP), Debian's chromium (the browser playwright-core drives for the AgentInfo gadget, MP4 and
# live-listening tests; never `npx playwright install`), GStreamer's gst-launch with rtspsrc (a
# second RTSP client, besides ffmpeg, for the RTSP playback tests) and script(1) from bsdutils (runs
# `verbatim export` on a pseudo-terminal to see its progress bar; essential in Debian, but slim
# images may lack it), mkfs.ext4 from e2fsprogs and findmnt from util-linux (the I/O error test
# loop-mounts a small ext4 image and turns it read-only mid-call).
# Needs root (CI and the dev machines run as root); prints what it does.
set -euo pipefail
missing=()
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
{ command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; } || missing+=(ffmpeg)
command -v baresip >/dev/null 2>&1 || missing+=(baresip-core)
[ -f /usr/include/bcg729/encoder.h ] || missing+=(libbcg729-dev)
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
command -v mkfs.ext4 >/dev/null 2>&1 || missing+=(e2fsprogs)
command -v findmnt >/dev/null 2>&1 || missing+=(util-linux)
{ command -v gst-launch-1.0 >/dev/null 2>&1 && gst-inspect-1.0 rtspsrc >/dev/null 2>&1 \
  && gst-inspect-1.0 wavenc >/dev/null 2>&1; } ||
  missing+=(gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good)
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
