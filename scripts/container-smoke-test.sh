#!/usr/bin/env bash
# Smoke-tests a built relay image the way docs/deploy.md runs it: the example hookchain.yml mounted
# read-only, its database in a volume, a read-only root filesystem, no capabilities.
#   bash scripts/container-smoke-test.sh IMAGE [EXPECTED_REVISION]
# Needs a Docker engine, curl and jq. .github/workflows/container.yml runs it on the amd64 image.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

image=${1:?usage: container-smoke-test.sh IMAGE [EXPECTED_REVISION]}
expected_revision=${2:-}
name=hookchain-smoke-$$
volume=hookchain-smoke-data-$$
port=${SMOKE_PORT:-18080}
relay=http://127.0.0.1:$port
hook_secret=smoke-dockerhub-secret-0123456789
admin_token=smoke-admin-token-0123456789abcdef

fail() {
  echo "::error::$*" >&2
  echo "--- docker logs $name" >&2
  docker logs "$name" >&2 || true
  exit 1
}
cleanup() {
  docker rm --force "$name" >/dev/null 2>&1 || true
  docker volume rm "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_until_ready() {
  for _ in $(seq 60); do
    curl --silent --fail "$relay/readyz" >/dev/null && return 0
    sleep 1
  done
  fail "the relay did not answer $relay/readyz within 60 s"
}

echo '==> The image runs as a user other than root, with the expected labels'
user=$(docker image inspect --format '{{.Config.User}}' "$image")
case "$user" in
  '' | root | 0 | 0:* | root:*) fail "the image's user is \"$user\": it must not be root" ;;
esac
for label in source revision version licenses title description; do
  value=$(docker image inspect --format "{{index .Config.Labels \"org.opencontainers.image.$label\"}}" "$image")
  [ -n "$value" ] || fail "the image has no org.opencontainers.image.$label label"
done
if [ -n "$expected_revision" ]; then
  revision=$(docker image inspect --format '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$image")
  [ "$revision" = "$expected_revision" ] || fail "org.opencontainers.image.revision is $revision, not $expected_revision"
fi

echo '==> Start it with the example config, a volume for /data and a read-only root filesystem'
# --health-interval only shortens the wait: the check itself is the image's HEALTHCHECK.
docker run --detach --name "$name" \
  --publish "127.0.0.1:$port:8080" \
  --volume "$volume:/data" \
  --volume "$PWD/hookchain.yml:/config/hookchain.yml:ro" \
  --env "DOCKERHUB_SECRET=$hook_secret" \
  --env "HOOKCHAIN_ADMIN_TOKEN=$admin_token" \
  --env "HOOKCHAIN_PUBLIC_URL=$relay" \
  --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
  --health-interval 2s \
  "$image" >/dev/null
wait_until_ready

echo '==> Its processes run as that user'
uid=$(docker exec "$name" id -u)
[ "$uid" != 0 ] || fail 'docker exec runs as root: the image must set a non-root USER'
pid1_uid=$(docker exec "$name" sh -c "grep '^Uid:' /proc/1/status | cut -f2")
[ "$pid1_uid" != 0 ] || fail 'PID 1 runs as root'

echo '==> A Docker Hub push is answered 202 and recorded'
status=$(curl --silent --output /dev/null --write-out '%{http_code}' \
  --header 'Content-Type: application/json' \
  --data-binary @test/fixtures/sources/dockerhub-push.json \
  "$relay/hooks/dockerhub/$hook_secret")
[ "$status" = 202 ] || fail "POST /hooks/dockerhub/<secret> answered $status, not 202"
events() {
  curl --silent --fail --header "Authorization: Bearer $admin_token" "$relay/api/events"
}
events | jq -e '.events | length == 1 and .[0].source == "dockerhub"' >/dev/null ||
  fail "GET /api/events does not list the push: $(events)"

echo '==> The image HEALTHCHECK reports healthy'
for _ in $(seq 30); do
  health=$(docker inspect --format '{{.State.Health.Status}}' "$name")
  [ "$health" = healthy ] && break
  sleep 1
done
[ "$health" = healthy ] || fail "the container's health is $health after 30 s"

echo '==> docker stop ends it with status 0: SIGTERM reached node, which finished its work'
docker stop --time 20 "$name" >/dev/null
exit_code=$(docker inspect --format '{{.State.ExitCode}}' "$name")
[ "$exit_code" = 0 ] || fail "the relay exited with $exit_code after docker stop (137: it did not stop on SIGTERM)"

echo '==> Started again on the same volume, it still has the push'
docker start "$name" >/dev/null
wait_until_ready
events | jq -e '.events | length == 1' >/dev/null ||
  fail "after a restart GET /api/events answers $(events): the volume did not keep the database"

echo 'The container smoke test passed.'
