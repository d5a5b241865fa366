#!/usr/bin/env bash
# generate.sh WORKSPACE_ID [SECONDS]: start a video and watch its status updates for SECONDS (default 30).
source "$(dirname "$0")/_env.sh"
send "{\"type\":\"video.generate\",\"id\":\"g1\",\"workspace_id\":\"$1\"}" "${2:-30}"
