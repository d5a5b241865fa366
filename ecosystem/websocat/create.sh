#!/usr/bin/env bash
# create.sh [TITLE] [PROMPT]: make a workspace at the end of the timeline; prints workspace.created.
source "$(dirname "$0")/_env.sh"
send "{\"type\":\"workspace.create\",\"id\":\"create-$(date +%s%N)\",\"workspace\":{\"title\":\"${1:-New shot}\",\"form_data\":{\"prompt\":\"${2:-a red kite over the sea}\"}}}"
