#!/usr/bin/env bash
# watch.sh: print every event of the project (other tabs' edits, video.status_update ...) until Ctrl-C.
source "$(dirname "$0")/_env.sh"
sleep infinity | "$WEBSOCAT" -t "$URL"
