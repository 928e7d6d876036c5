#!/usr/bin/env bash
# The README's start command on a fresh clone of this repository's last commit: clones it into a
# temporary folder, runs `npm ci && npm start` there in the background on a free PORT, waits for
# /readyz, then stops it with SIGTERM and checks that it exits with 0 and leaves nothing listening.
# (The README's other command, `npm test`, is what .ci/run itself runs on a clean clone.)
#   bash scripts/fresh-clone-start.sh
set -euo pipefail
repository="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
npm_pid=''
cleanup() {
  if [ -n "$npm_pid" ] && kill -0 "$npm_pid" 2>/dev/null; then kill -KILL "$npm_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

git clone --quiet "$repository" "$work/hookchain"
cd "$work/hookchain"
port="$(node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close() })")"

# The README's command, `npm ci && npm start`; PORT only keeps it off a port already in use. The
# subshell execs npm start, so that $! is npm's pid, as for a user's terminal.
(npm ci && PORT="$port" exec npm start) > "$work/start.log" 2>&1 &
npm_pid=$!

ready=''
for _ in $(seq 1 600); do
  if curl --silent --fail "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; then ready=yes; break; fi
  if ! kill -0 "$npm_pid" 2>/dev/null; then break; fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "npm ci && npm start on a fresh clone did not answer /readyz on port $port:" >&2
  cat "$work/start.log" >&2
  exit 1
fi
echo "npm ci && npm start on a fresh clone answers /readyz on port $port."

# As Ctrl-C or a supervisor would: the signal goes to npm, which passes it on to the relay.
kill -TERM "$npm_pid"
status=0
wait "$npm_pid" || status=$?
npm_pid=''
if [ "$status" -ne 0 ]; then
  echo "npm start exited with $status after SIGTERM, not 0:" >&2
  tail -n 20 "$work/start.log" >&2
  exit 1
fi
if curl --silent "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; then
  echo "Something still answers on port $port after npm start stopped." >&2
  exit 1
fi
echo 'SIGTERM stopped it with status 0, and nothing listens on its port any more.'
