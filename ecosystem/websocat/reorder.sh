#!/usr/bin/env bash
# reorder.sh ID1 ID2 ...: the new order of every workspace of the project.
source "$(dirname "$0")/_env.sh"
ids=$(printf '"%s",' "$@"); ids=${ids%,}
send "{\"type\":\"workspace.reorder\",\"id\":\"r1\",\"order\":[${ids}]}"
