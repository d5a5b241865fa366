#!/usr/bin/env bash
# watch.sh: stay connected and print every event of the project as it comes (the other clients' creates, edits,
# deletes and reorders; every video.status_update) until Ctrl-C or the server closes the socket.
# shellcheck source=_env.sh
source "$(dirname "$0")/_env.sh"
echo "watching $URL (Ctrl-C to stop)" >&2
# -n: do not close on EOF of stdin; nothing is sent.
exec "$WEBSOCAT" "${WS_ARGS[@]}" -n "$URL" </dev/null
