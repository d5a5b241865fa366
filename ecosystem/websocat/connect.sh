#!/usr/bin/env bash
# Interactive session: type one JSON message per line; replies and other tabs' events are printed.
source "$(dirname "$0")/_env.sh"
exec "$WEBSOCAT" -t "$URL"
