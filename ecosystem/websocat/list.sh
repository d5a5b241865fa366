#!/usr/bin/env bash
# list.sh [--ids]: workspace.list; prints workspace.list_result, or with --ids only the ids in timeline order
# (one per line, for reorder.sh; needs jq).
# shellcheck source=_env.sh
source "$(dirname "$0")/_env.sh"
id=$(new_id list)
if [ "${1:-}" = --ids ]; then
    have_jq || { echo "list.sh --ids needs jq" >&2; exit 2; }
    exchange "$id" "{\"type\":\"workspace.list\",\"id\":\"$id\"}" "$(reply_jq "$id")" "$(reply_re "$id")" 2>/dev/null \
        | jq -r 'select(.type == "workspace.list_result") | .workspaces[].id'
else
    exchange "$id" "{\"type\":\"workspace.list\",\"id\":\"$id\"}" "$(reply_jq "$id")" "$(reply_re "$id")"
fi
