#!/usr/bin/env bash
# watch-status.sh [WORKSPACE_ID]: stay connected and print one line per video.status_update (of one workspace, or
# of all): time, workspace, status, progress, then the URL or the error. Without jq: the raw frames.
# shellcheck source=_env.sh
source "$(dirname "$0")/_env.sh"
echo "watching video status on $URL (Ctrl-C to stop)" >&2
if have_jq; then
    "$WEBSOCAT" "${WS_ARGS[@]}" -n "$URL" </dev/null | jq --unbuffered -r --arg ws "${1:-}" '
        select(.type == "video.status_update" and ($ws == "" or .workspace_id == $ws))
        | [(now | strftime("%H:%M:%S")), .workspace_id, .video.status, "\(.video.progress)%",
           (.video.url // (.video.error | if . then "\(.code): \(.message)" else "" end))]
        | map(select(. != "")) | join("  ")'
else
    "$WEBSOCAT" "${WS_ARGS[@]}" -n "$URL" </dev/null | grep --line-buffered "\"type\":\"video.status_update\",\"workspace_id\":\"${1:-}"
fi
