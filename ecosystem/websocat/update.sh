#!/usr/bin/env bash
# update.sh WORKSPACE_ID FORM_JSON [TITLE]: workspace.update with a form_data patch (only the keys given change; a
# key set to null is removed); prints workspace.sync_confirm. The other clients get workspace.updated.
#   ./update.sh 6b06128cd988dace50a6a7b0 '{"camera_movement":"pan_left","duration_s":5}'
# shellcheck source=_env.sh
source "$(dirname "$0")/_env.sh"
[ $# -ge 2 ] || { echo "usage: $0 WORKSPACE_ID FORM_JSON [TITLE]" >&2; exit 2; }
if have_jq && ! jq -e 'type == "object"' >/dev/null 2>&1 <<<"$2"; then echo "FORM_JSON is not a JSON object: $2" >&2; exit 2; fi
id=$(new_id update)
updates="{\"form_data\":$2${3:+,\"title\":$(json_str "$3")}}"
exchange "$id" "{\"type\":\"workspace.update\",\"id\":\"$id\",\"workspace_id\":\"$1\",\"updates\":$updates}" \
    "$(reply_jq "$id")" "$(reply_re "$id")"
