#!/usr/bin/env bash
# update.sh WORKSPACE_ID FORM_JSON: patch the shot form, e.g. update.sh 6b04... '{"camera_movement":"pan_left"}'
source "$(dirname "$0")/_env.sh"
send "{\"type\":\"workspace.update\",\"id\":\"u1\",\"workspace_id\":\"$1\",\"updates\":{\"form_data\":${2:-{\}}}}"
