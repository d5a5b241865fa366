#!/usr/bin/env bash
# connect.sh: an interactive session. Type one JSON message per line; replies and the other clients' events are
# printed as they come. Ctrl-D or Ctrl-C hangs up.
#   {"type":"ping","id":"p1"}
#   {"type":"workspace.list","id":"l1"}
# shellcheck source=_env.sh
source "$(dirname "$0")/_env.sh"
echo "connecting to $URL (one JSON message per line; Ctrl-D to quit)" >&2
exec "$WEBSOCAT" "${WS_ARGS[@]}" "$URL"
