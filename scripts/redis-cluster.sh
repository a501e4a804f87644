#!/usr/bin/env bash
# A local Redis Cluster for tests: 3 masters and 3 replicas of Debian's redis-server on 127.0.0.1,
# ports ${REDIS_CLUSTER_BASE_PORT:-7100}..+5, a short node timeout so a failover takes seconds.
#   scripts/redis-cluster.sh up     start it (idempotent) and wait until every slot is served
#   scripts/redis-cluster.sh down   stop it and remove its files
#   scripts/redis-cluster.sh nodes  print REDIS_CLUSTER_NODES for it
set -euo pipefail
BASE=${REDIS_CLUSTER_BASE_PORT:-7100}
DIR=${REDIS_CLUSTER_DIR:-/tmp/smsq-redis-cluster}
PORTS=($(seq "$BASE" $((BASE + 5))))

nodes() { local IFS=,; echo "${PORTS[*]/#/127.0.0.1:}"; }

up() {
  # Nothing running: start afresh rather than from the node files of an earlier run.
  local running=0
  for port in "${PORTS[@]}"; do redis-cli -p "$port" ping >/dev/null 2>&1 && running=1; done
  if [ "$running" = 0 ]; then rm -rf "$DIR"; fi
  mkdir -p "$DIR"
  for port in "${PORTS[@]}"; do
    if redis-cli -p "$port" ping >/dev/null 2>&1; then continue; fi
    mkdir -p "$DIR/$port"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$DIR/$port" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
      --appendonly no --save "" --logfile "$DIR/$port/redis.log" --pidfile "$DIR/$port/redis.pid"
  done
  for port in "${PORTS[@]}"; do
    for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  if ! redis-cli -p "$BASE" cluster info | grep -q 'cluster_state:ok'; then
    redis-cli --cluster create $(nodes | tr ',' ' ') --cluster-replicas 1 --cluster-yes >/dev/null
  fi
  for _ in $(seq 1 100); do
    redis-cli -p "$BASE" cluster info | grep -q 'cluster_state:ok' && return 0
    sleep 0.2
  done
  echo "redis-cluster: the cluster did not become ready" >&2
  return 1
}

down() {
  for port in "${PORTS[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
  rm -rf "$DIR"
}

case "${1:-}" in
  up) up && nodes ;;
  down) down ;;
  nodes) nodes ;;
  *) echo "usage: $0 up|down|nodes" >&2; exit 2 ;;
esac
