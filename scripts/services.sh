# shellcheck shell=bash
# Throw-away MariaDB and Redis servers for tests and benchmarks.
#
# Source this file, then:
#   huodong_services_up     # makes sure MYSQL_URL and REDIS_URL are set and reachable
#   huodong_services_down   # stops whatever huodong_services_up started (idempotent)
#
# If MYSQL_URL / REDIS_URL are already set, they are used as they are and no
# server is started for them. Otherwise a private server is started on a free
# port on 127.0.0.1, with its data in a temporary directory that is removed by
# huodong_services_down.
#
# When Redis is started here, HUODONG_TEST_REDIS_SERVER_BIN, HUODONG_TEST_REDIS_PORT
# and HUODONG_TEST_REDIS_DIR are exported so a test can stop and restart it
# (fault injection). A Redis restarted on that port is stopped by
# huodong_services_down as well.
#
# Missing servers are installed with apt-get when running as root
# (huodong_install_packages), otherwise an error explains what to do.
#
# The functions return non-zero on failure; they do not rely on `set -e`.

_HUODONG_APT_UPDATED=${_HUODONG_APT_UPDATED:-}
_HUODONG_MARIADB_DIR=${_HUODONG_MARIADB_DIR:-}
_HUODONG_MARIADB_PID=${_HUODONG_MARIADB_PID:-}
_HUODONG_REDIS_DIR=${_HUODONG_REDIS_DIR:-}
_HUODONG_REDIS_PID=${_HUODONG_REDIS_PID:-}
_HUODONG_REDIS_PORT=${_HUODONG_REDIS_PORT:-}
_HUODONG_REDIS_CLI=${_HUODONG_REDIS_CLI:-}

_huodong_err() { echo "services: $*" >&2; }

# First executable found among the arguments (command names or absolute paths).
_huodong_find_bin() {
  local c p
  for c in "$@"; do
    if [[ $c == /* ]]; then
      [[ -x $c ]] && { echo "$c"; return 0; }
    elif p=$(command -v "$c" 2>/dev/null) && [[ -n $p ]]; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

_huodong_mariadbd_bin() { _huodong_find_bin mariadbd /usr/sbin/mariadbd /usr/sbin/mysqld; }
_huodong_redis_bin() { _huodong_find_bin redis-server /usr/bin/redis-server /usr/sbin/redis-server; }

# True if the process exists and is not a zombie (PID 1 may not reap orphans).
_huodong_alive() {
  local pid=$1 state
  [[ -n $pid ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/stat ]]; then
    state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ $state != Z && $state != X ]] || return 1
  fi
  return 0
}

# SIGTERM, wait up to $2 seconds (default 30), then SIGKILL.
_huodong_stop_pid() {
  local pid=$1 timeout=${2:-30} i
  _huodong_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    _huodong_alive "$pid" || return 0
    sleep 0.1
  done
  _huodong_err "pid $pid did not stop after ${timeout}s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    _huodong_alive "$pid" || return 0
    sleep 0.1
  done
  return 1
}

# A TCP port that is free on 127.0.0.1 right now.
_huodong_free_port() {
  if command -v node >/dev/null 2>&1; then
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
  else
    echo $((20000 + RANDOM % 40000))
  fi
}

# huodong_install_packages PKG... : apt-get install the packages (root only).
huodong_install_packages() {
  (($# > 0)) || return 0
  if [[ $(id -u) != 0 ]]; then
    _huodong_err "cannot install $* (not root); install them, or set MYSQL_URL/REDIS_URL to existing servers"
    return 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    _huodong_err "cannot install $* (no apt-get); install them, or set MYSQL_URL/REDIS_URL to existing servers"
    return 1
  fi
  # Do not let the packages' maintainer scripts start system services: we run
  # our own private instances.
  local policy=/usr/sbin/policy-rc.d added_policy='' rc=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
  fi
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/huodong-apt.XXXXXX") || return 1
  echo "services: installing $* with apt-get" >&2
  if [[ -z $_HUODONG_APT_UPDATED ]]; then
    if DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1; then
      _HUODONG_APT_UPDATED=1
    else
      rc=1
    fi
  fi
  if ((rc == 0)); then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$log" 2>&1 || rc=1
  fi
  [[ -n $added_policy ]] && rm -f "$policy"
  if ((rc != 0)); then
    _huodong_err "apt-get install $* failed:"
    tail -n 30 "$log" >&2
  fi
  rm -f "$log"
  return $rc
}

# Installs mariadb-server / redis-server if their binaries are missing.
# Arguments: any of "mariadb", "redis" (default: both).
huodong_ensure_packages() {
  local want=("$@") pkgs=()
  ((${#want[@]})) || want=(mariadb redis)
  local w
  for w in "${want[@]}"; do
    case $w in
      mariadb)
        if ! _huodong_mariadbd_bin >/dev/null || ! _huodong_find_bin mariadb-install-db mysql_install_db >/dev/null ||
          ! _huodong_find_bin mariadb-admin mysqladmin >/dev/null || ! _huodong_find_bin mariadb mysql >/dev/null; then
          pkgs+=(mariadb-server mariadb-client)
        fi
        ;;
      redis)
        if ! _huodong_redis_bin >/dev/null || ! _huodong_find_bin redis-cli >/dev/null; then
          pkgs+=(redis-server redis-tools)
        fi
        ;;
    esac
  done
  ((${#pkgs[@]})) || return 0
  if [[ $(id -u) != 0 ]]; then
    _huodong_err "missing ${pkgs[*]}: install them (e.g. sudo apt-get install ${pkgs[*]}), or set MYSQL_URL/REDIS_URL to existing servers"
    return 1
  fi
  huodong_install_packages "${pkgs[@]}"
}

_huodong_mariadb_up() {
  huodong_ensure_packages mariadb || return 1
  local mariadbd install_db admin client
  mariadbd=$(_huodong_mariadbd_bin) || { _huodong_err "mariadbd not found"; return 1; }
  install_db=$(_huodong_find_bin mariadb-install-db mysql_install_db) || { _huodong_err "mariadb-install-db not found"; return 1; }
  admin=$(_huodong_find_bin mariadb-admin mysqladmin) || { _huodong_err "mariadb-admin not found"; return 1; }
  client=$(_huodong_find_bin mariadb mysql) || { _huodong_err "mariadb client not found"; return 1; }

  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/huodong-mariadb.XXXXXX") || { _huodong_err "mktemp failed"; return 1; }
  _HUODONG_MARIADB_DIR=$dir
  local user_opt=()
  [[ $(id -u) == 0 ]] && user_opt=(--user=root)

  if ! "$install_db" --no-defaults --datadir="$dir/data" "${user_opt[@]}" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
    >"$dir/install.log" 2>&1; then
    _huodong_err "mariadb-install-db failed:"
    tail -n 30 "$dir/install.log" >&2
    return 1
  fi

  local attempt port pid up deadline
  for attempt in 1 2 3; do
    port=$(_huodong_free_port) || { _huodong_err "no free port"; return 1; }
    [[ -e $dir/mariadb.log ]] && mv -f "$dir/mariadb.log" "$dir/mariadb.log.$((attempt - 1))"
    # The subshell keeps job-control noise out of interactive shells; the
    # server ignores SIGINT (async command without job control), so Ctrl-C
    # reaches the test runner and the EXIT trap stops the server cleanly.
    pid=$(
      "$mariadbd" --no-defaults \
        --datadir="$dir/data" \
        --socket="$dir/mysql.sock" \
        --pid-file="$dir/mariadb.pid" \
        --port="$port" \
        --bind-address=127.0.0.1 \
        "${user_opt[@]}" \
        --skip-name-resolve \
        --skip-log-bin \
        --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_general_ci \
        --max-connections=1000 \
        --max-allowed-packet=64M \
        --innodb-buffer-pool-size=256M \
        --innodb-log-file-size=128M \
        --innodb-flush-log-at-trx-commit=2 \
        --innodb-doublewrite=0 \
        --sync-binlog=0 \
        --skip-performance-schema \
        >"$dir/mariadb.log" 2>&1 </dev/null &
      echo $!
    )
    _HUODONG_MARIADB_PID=$pid
    up=
    deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)); do
      if ! _huodong_alive "$pid"; then
        break
      fi
      if "$admin" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -uroot --connect-timeout=1 ping >/dev/null 2>&1; then
        up=1
        break
      fi
      sleep 0.1
    done
    [[ -n $up ]] && break
    if ! _huodong_alive "$pid" && grep -q 'Address already in use' "$dir/mariadb.log" 2>/dev/null && ((attempt < 3)); then
      _HUODONG_MARIADB_PID=
      continue # lost a race for the port; try another
    fi
    _huodong_err "mariadb did not start (log: $dir/mariadb.log):"
    tail -n 30 "$dir/mariadb.log" >&2
    return 1
  done

  if ! "$client" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -uroot \
    -e 'CREATE DATABASE IF NOT EXISTS huodong' >"$dir/client.log" 2>&1; then
    _huodong_err "cannot create database huodong:"
    cat "$dir/client.log" >&2
    return 1
  fi
  export MYSQL_URL="mysql://root@127.0.0.1:$port/huodong"
  echo "mariadb: 127.0.0.1:$port" >&2
}

_huodong_redis_up() {
  huodong_ensure_packages redis || return 1
  local server cli
  server=$(_huodong_redis_bin) || { _huodong_err "redis-server not found"; return 1; }
  cli=$(_huodong_find_bin redis-cli) || { _huodong_err "redis-cli not found"; return 1; }
  _HUODONG_REDIS_CLI=$cli

  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/huodong-redis.XXXXXX") || { _huodong_err "mktemp failed"; return 1; }
  _HUODONG_REDIS_DIR=$dir

  local attempt port pid up deadline
  for attempt in 1 2 3; do
    port=$(_huodong_free_port) || { _huodong_err "no free port"; return 1; }
    rm -f "$dir/redis.pid"
    [[ -e $dir/redis.log ]] && mv -f "$dir/redis.log" "$dir/redis.log.$((attempt - 1))"
    if ! "$server" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      </dev/null >>"$dir/redis.start.log" 2>&1; then
      _huodong_err "redis-server failed to start:"
      tail -n 30 "$dir/redis.start.log" "$dir/redis.log" 2>/dev/null >&2
      return 1
    fi
    _HUODONG_REDIS_PORT=$port
    up=
    pid=
    deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
      [[ -z $pid && -s $dir/redis.pid ]] && pid=$(<"$dir/redis.pid") && _HUODONG_REDIS_PID=$pid
      if [[ -n $pid ]] && ! _huodong_alive "$pid"; then
        break
      fi
      # Redis writes its pid file only after binding; a failed bind never gets there.
      if [[ -z $pid ]] && grep -q 'aborting' "$dir/redis.log" 2>/dev/null; then
        break
      fi
      if [[ -n $pid && $("$cli" -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]; then
        up=1
        break
      fi
      sleep 0.1
    done
    [[ -n $up ]] && break
    if grep -q 'Address already in use' "$dir/redis.log" 2>/dev/null && ((attempt < 3)); then
      _HUODONG_REDIS_PID=
      _HUODONG_REDIS_PORT=
      continue
    fi
    _huodong_err "redis did not start (log: $dir/redis.log):"
    tail -n 30 "$dir/redis.log" >&2 2>/dev/null
    return 1
  done

  export REDIS_URL="redis://127.0.0.1:$port"
  export HUODONG_TEST_REDIS_SERVER_BIN=$server
  export HUODONG_TEST_REDIS_PORT=$port
  export HUODONG_TEST_REDIS_DIR=$dir
  echo "redis: 127.0.0.1:$port" >&2
}

huodong_services_up() {
  if [[ -z ${MYSQL_URL:-} ]]; then
    _huodong_mariadb_up || return 1
  fi
  if [[ -z ${REDIS_URL:-} ]]; then
    _huodong_redis_up || return 1
  fi
  return 0
}

huodong_services_down() {
  local rc=0 pid
  if [[ -n $_HUODONG_REDIS_DIR ]]; then
    # The pid file may name a Redis a test restarted on our port.
    if [[ -s $_HUODONG_REDIS_DIR/redis.pid ]]; then
      pid=$(<"$_HUODONG_REDIS_DIR/redis.pid")
      [[ $pid =~ ^[0-9]+$ ]] && { _huodong_stop_pid "$pid" 10 || rc=1; }
    fi
    if [[ -n $_HUODONG_REDIS_PID ]]; then
      _huodong_stop_pid "$_HUODONG_REDIS_PID" 10 || rc=1
    fi
    # A Redis restarted by a test on our private port without our pid file.
    if [[ -n $_HUODONG_REDIS_PORT && -n $_HUODONG_REDIS_CLI ]] &&
      [[ $("$_HUODONG_REDIS_CLI" -h 127.0.0.1 -p "$_HUODONG_REDIS_PORT" ping 2>/dev/null) == PONG ]]; then
      "$_HUODONG_REDIS_CLI" -h 127.0.0.1 -p "$_HUODONG_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    fi
    rm -rf "$_HUODONG_REDIS_DIR"
    unset REDIS_URL HUODONG_TEST_REDIS_SERVER_BIN HUODONG_TEST_REDIS_PORT HUODONG_TEST_REDIS_DIR
    _HUODONG_REDIS_DIR='' _HUODONG_REDIS_PID='' _HUODONG_REDIS_PORT=''
  fi
  if [[ -n $_HUODONG_MARIADB_DIR ]]; then
    if [[ -n $_HUODONG_MARIADB_PID ]]; then
      _huodong_stop_pid "$_HUODONG_MARIADB_PID" 60 || rc=1
    fi
    rm -rf "$_HUODONG_MARIADB_DIR"
    unset MYSQL_URL
    _HUODONG_MARIADB_DIR='' _HUODONG_MARIADB_PID=''
  fi
  return $rc
}
