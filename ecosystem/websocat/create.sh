#!/usr/bin/env bash
# create.sh [TITLE] [PROMPT] [POSITION]: workspace.create; prints workspace.created (its workspace.id is the new id).
# POSITION is the index in the timeline (default: at the end).
# shellcheck source=_env.sh
source "$(dirname "$0")/_env.sh"
id=$(new_id create)
workspace="{\"title\":$(json_str "${1:-New shot}"),\"form_data\":{\"prompt\":$(json_str "${2:-a red kite over the sea}")}}"
message="{\"type\":\"workspace.create\",\"id\":\"$id\",\"workspace\":$workspace${3:+,\"position\":$3}}"
exchange "$id" "$message" "$(reply_jq "$id")" "$(reply_re "$id")"
