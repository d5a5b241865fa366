#!/usr/bin/env bash
# reorder.sh ID1 ID2 ...: workspace.reorder with every workspace id of the project, in the new order; prints
# workspace.reorder_confirm (or error conflict, whose details list the missing and unknown ids).
#   ./reorder.sh $(./list.sh --ids | tac)      # reverse the timeline
# shellcheck source=_env.sh
source "$(dirname "$0")/_env.sh"
[ $# -ge 1 ] || { echo "usage: $0 ID1 ID2 ..." >&2; exit 2; }
ids=$(printf '"%s",' "$@")
id=$(new_id reorder)
exchange "$id" "{\"type\":\"workspace.reorder\",\"id\":\"$id\",\"order\":[${ids%,}]}" "$(reply_jq "$id")" "$(reply_re "$id")"
