#!/usr/bin/env bash
# generate.sh WORKSPACE_ID [PROVIDER]: video.generate (the workspace needs a picture and a prompt), then prints every
# video.status_update until the video is completed, failed or cancelled (at most WAIT seconds, default 120).
# shellcheck source=_env.sh
source "$(dirname "$0")/_env.sh"
[ $# -ge 1 ] || { echo "usage: $0 WORKSPACE_ID [PROVIDER]" >&2; exit 2; }
id=$(new_id generate)
message="{\"type\":\"video.generate\",\"id\":\"$id\",\"workspace_id\":\"$1\"${2:+,\"provider\":$(json_str "$2")}}"
final_jq=".type == \"video.status_update\" and .workspace_id == \"$1\" and (.video.status | IN(\"completed\", \"failed\", \"cancelled\"))"
final_re="\"type\":\"video.status_update\",\"workspace_id\":\"$1\",\"video\":\\{\"status\":\"(completed|failed|cancelled)\""
exchange "$id" "$message" "$final_jq" "$final_re" "${WAIT:-120}"
