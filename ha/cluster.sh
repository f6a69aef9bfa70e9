#!/usr/bin/env bash
# A local three-member Patroni cluster for tests and benchmarks (SPEC §12):
# etcd (one member), one primary and two synchronous replicas of PostgreSQL 15,
# every port on 127.0.0.1. Debian's packages: patroni, etcd-server.
#
#   ha/cluster.sh up       start it (idempotent) and wait for a primary and two sync replicas
#   ha/cluster.sh down     stop everything and remove its files
#   ha/cluster.sh status   patronictl list
#   ha/cluster.sh url      the multi-host URL the ledger opens
#
# Ports: etcd 2479, PostgreSQL 5441-5443, Patroni's REST API 8441-8443.
set -euo pipefail
BASE=${LEDGER_HA_DIR:-/tmp/ledger-ha}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
ETCD_PORT=2479
NODES=(1 2 3)

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

config() {  # the Patroni configuration of member $1
    local n=$1
    cat <<YAML
scope: ledger-ha
name: node$n
restapi:
  listen: 127.0.0.1:844$n
  connect_address: 127.0.0.1:844$n
etcd3:
  hosts: 127.0.0.1:$ETCD_PORT
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_node_count: 2
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_log_hints: "on"
        max_connections: 200
  initdb:
    - encoding: UTF8
  pg_hba:
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
    - local all all trust
postgresql:
  listen: 127.0.0.1:544$n
  connect_address: 127.0.0.1:544$n
  data_dir: $BASE/node$n/data
  bin_dir: $BIN
  pgpass: $BASE/node$n/pgpass
  authentication:
    replication:
      username: replicator
      password: replicator
    superuser:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: $BASE/node$n
YAML
}

members() {  # "name role state lag" per member, from the REST API of any member
    for n in "${NODES[@]}"; do
        if curl -sf "http://127.0.0.1:844$n/cluster" 2>/dev/null; then return 0; fi
    done
    return 1
}

ready() {  # a running leader and two streaming sync standbys
    members | python3 -c '
import json, sys
members = json.load(sys.stdin)["members"]
leader = [m for m in members if m["role"] == "leader" and m["state"] == "running"]
sync = [m for m in members if m["role"] == "sync_standby" and m["state"] in ("streaming", "running")]
sys.exit(0 if len(leader) == 1 and len(sync) == 2 else 1)' 2>/dev/null
}

up() {
    mkdir -p "$BASE"
    if [ ! -f "$BASE/etcd.pid" ] || ! kill -0 "$(cat "$BASE/etcd.pid")" 2>/dev/null; then
        etcd --name ledger-ha --data-dir "$BASE/etcd" \
            --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
            --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
            --listen-peer-urls http://127.0.0.1:2480 \
            --initial-advertise-peer-urls http://127.0.0.1:2480 \
            --initial-cluster ledger-ha=http://127.0.0.1:2480 >"$BASE/etcd.log" 2>&1 &
        echo $! >"$BASE/etcd.pid"
    fi
    for n in "${NODES[@]}"; do
        mkdir -p "$BASE/node$n"
        config "$n" >"$BASE/node$n/patroni.yml"
        chown -R postgres "$BASE/node$n" 2>/dev/null || true
        if [ ! -f "$BASE/node$n/patroni.pid" ] || ! kill -0 "$(cat "$BASE/node$n/patroni.pid")" 2>/dev/null; then
            as_postgres patroni "$BASE/node$n/patroni.yml" >"$BASE/node$n/patroni.log" 2>&1 &
            echo $! >"$BASE/node$n/patroni.pid"
            sleep 2  # the first member bootstraps; the others then clone it
        fi
    done
    for _ in $(seq 1 120); do
        if ready; then
            status
            return 0
        fi
        sleep 1
    done
    echo "the cluster did not come up within 120 s; logs in $BASE" >&2
    tail -n 20 "$BASE"/node*/patroni.log >&2
    return 1
}

down() {
    # The pid files hold runuser's pid, which does not pass signals on: match Patroni itself.
    for n in "${NODES[@]}"; do
        pkill -f "patroni $BASE/node$n/patroni.yml" 2>/dev/null || true
    done
    sleep 3
    for n in "${NODES[@]}"; do
        pkill -9 -f "patroni $BASE/node$n/patroni.yml" 2>/dev/null || true
        if [ -f "$BASE/node$n/data/postmaster.pid" ]; then
            kill -9 "$(head -1 "$BASE/node$n/data/postmaster.pid")" 2>/dev/null || true
        fi
    done
    if [ -f "$BASE/etcd.pid" ]; then kill "$(cat "$BASE/etcd.pid")" 2>/dev/null || true; fi
    sleep 1
    rm -rf "$BASE"
    echo "cluster down, $BASE removed"
}

status() {
    members | python3 -c '
import json, sys
for m in json.load(sys.stdin)["members"]:
    name, host, port, role, state, lag = (m.get(k, 0) for k in ("name", "host", "port", "role", "state", "lag"))
    print(f"{name:6} {host}:{port}  {role:13} {state:10} lag {lag}")'
}

url() {
    echo "postgresql://postgres@127.0.0.1:5441,127.0.0.1:5442,127.0.0.1:5443/postgres?target_session_attrs=read-write"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    url) url ;;
    *) echo "usage: $0 up|down|status|url" >&2; exit 2 ;;
esac
