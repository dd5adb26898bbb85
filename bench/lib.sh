# shellcheck shell=bash
# Shared by bench/run, bench/idle-memory and bench/slow-readers: process lifecycle, loopback ports, and one
# function per proxy kind. Everything binds to 127.0.0.1 and lives under $WORK (a mktemp dir).
#
# Contract for proxy functions: `proxy_<kind> NAME BACKEND_PORT` starts the proxy in front of
# 127.0.0.1:BACKEND_PORT and sets PROXY_PORT (where clients connect) and PROXY_PID (the process
# whose CPU and memory we account to the proxy, "" for direct). Kinds: direct strait strait-nolog strait-b haproxy
# haproxy-splice nginx socat.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")

STRAIT_JAR=${STRAIT_JAR:-$REPO_DIR/proxy-server/target/proxy-server.jar}
STRAIT_JAVA=${STRAIT_JAVA:-java}
STRAIT_JAVA_OPTS=${STRAIT_JAVA_OPTS:--Xms256m -Xmx256m -XX:+AlwaysPreTouch}
STRAIT_ARGS=${STRAIT_ARGS:-}                       # extra CLI flags, e.g. "--transport nio"
# The access log of the `strait` kind: on (the default config: a text line per connection, to the proxy's log
# file) or off. The `strait-nolog` kind always has it off, so both can run side by side in the same rounds.
STRAIT_ACCESS_LOG=${STRAIT_ACCESS_LOG:-on}
# The `strait-b` kind: a second build (e.g. an older commit's jar) in the same rounds as `strait`, so that an A/B
# is not skewed by the machine's drift between runs. It starts from --listen/--backend only (builds from before a
# config key existed start too), so it runs with that build's defaults.
STRAIT_JAR_B=${STRAIT_JAR_B:-}
# splice-auto hardly splices on loopback (same CPU/GiB as copying); force it both ways. ";" separates lines.
HAPROXY_SPLICE=${HAPROXY_SPLICE:-option splice-request; option splice-response}
NGINX_STREAM_MODULE=${NGINX_STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
READY_TIMEOUT=${READY_TIMEOUT:-20}                 # seconds a process may take to listen

PIDS=()        # every process we started, stopped in reverse order by cleanup
declare -A PID_NAME=()
USED_PORTS=()
# shellcheck disable=SC2034 # used by bench/run
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# need CMD PACKAGE...: remember PACKAGE for the install hint when CMD is missing.
MISSING_PKGS=()
need() {
  local cmd=$1; shift
  if [[ $cmd == /* ]]; then [[ -e $cmd ]] && return 0; else command -v "$cmd" >/dev/null && return 0; fi
  log "missing: $cmd"
  MISSING_PKGS+=("$@")
}
require_needed() {
  ((${#MISSING_PKGS[@]} == 0)) && return 0
  local pkgs
  pkgs=$(printf '%s\n' "${MISSING_PKGS[@]}" | sort -u | tr '\n' ' ')
  log "install the missing packages first:  $( ((EUID == 0)) || echo 'sudo ')apt-get install -y $pkgs"
  exit 2
}

# need_proxy KIND: the packages a proxy kind needs.
need_proxy() {
  case $1 in
    direct) ;;
    strait|strait-nolog) need "$STRAIT_JAVA" openjdk-17-jre-headless
            [[ -f $STRAIT_JAR ]] || die "no $STRAIT_JAR: build it first (make jar)" ;;
    strait-b) need "$STRAIT_JAVA" openjdk-17-jre-headless
            [[ -f $STRAIT_JAR_B ]] || die "strait-b needs STRAIT_JAR_B=<another build's proxy-server.jar>" ;;
    haproxy|haproxy-splice) need haproxy haproxy ;;
    nginx) need nginx nginx; need "$NGINX_STREAM_MODULE" libnginx-mod-stream ;;
    socat) need socat socat ;;
    strait-tls|strait-tls-jdk|strait-tls-rsa|strait-tls-jdk-rsa) need "$STRAIT_JAVA" openjdk-17-jre-headless
            [[ -f $STRAIT_JAR ]] || die "no $STRAIT_JAR: build it first (make jar)" ;;
    strait-tls-b) need "$STRAIT_JAVA" openjdk-17-jre-headless
            [[ -f $STRAIT_JAR_B ]] || die "strait-tls-b needs STRAIT_JAR_B=<another build's proxy-server.jar>" ;;
    haproxy-tls|haproxy-tls-rsa) need haproxy haproxy ;;
    stunnel) need stunnel4 stunnel4 ;;
    *) die "unknown proxy '$1' (known: direct strait strait-nolog strait-b haproxy haproxy-splice nginx socat; tls: strait-tls strait-tls-jdk strait-tls-b haproxy-tls stunnel, and with an RSA-2048 certificate strait-tls-rsa strait-tls-jdk-rsa haproxy-tls-rsa)" ;;
  esac
}

make_workdir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/strait-bench.XXXXXX")
  chmod 755 "$WORK" # nginx workers (nobody) and postgres must traverse it
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

cleanup() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}

alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# spawn NAME CMD...: start CMD in the background, output to $WORK/NAME.log; sets SPAWNED_PID.
spawn() {
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  SPAWNED_PID=$!
  PIDS+=("$SPAWNED_PID")
  PID_NAME[$SPAWNED_PID]=$name
}

# stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL.
stop_pid() {
  local pid=$1 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then
    log "${PID_NAME[$pid]:-pid $pid} ignored SIGTERM for 10 s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# stop_started PID...: stop (newest first) and forget processes started since a checkpoint.
stop_started() {
  local pid i keep=()
  for ((i = $#; i >= 1; i--)); do stop_pid "${!i}"; done
  for pid in "${PIDS[@]}"; do [[ " $* " == *" $pid "* ]] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}

# free_port VAR: an unused port below the ephemeral range, so load generators' client ports never collide.
free_port() {
  local lo p i
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  ((lo > 12000)) || lo=32768
  for ((i = 0; i < 200; i++)); do
    p=$((lo - 12000 + RANDOM % 11000))
    [[ " ${USED_PORTS[*]} " == *" $p "* ]] && continue
    [[ -n $(ss -Htan "( sport = :$p or dport = :$p )") ]] && continue
    USED_PORTS+=("$p")
    printf -v "$1" '%s' "$p"
    return 0
  done
  die "no free port found"
}

# wait_listen PORT PID NAME: poll (bounded) until something listens on 127.0.0.1:PORT.
wait_listen() {
  local port=$1 pid=$2 name=$3 i
  for ((i = 0; i < READY_TIMEOUT * 20; i++)); do
    [[ -n $(ss -Hltn "sport = :$port") ]] && return 0
    if [[ -n $pid ]] && ! alive "$pid"; then break; fi
    sleep 0.05
  done
  log "$name did not listen on 127.0.0.1:$port; last lines of $WORK/$name.log:"
  tail -n 20 "$WORK/$name.log" >&2 2>/dev/null || true
  return 1
}

# proc_tree PID: PID and all its descendants.
proc_tree() {
  local p
  echo "$1"
  for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do proc_tree "$p"; done
}

# cpu_ticks PID: user+system CPU of PID's tree, including reaped children (socat forks per connection).
cpu_ticks() {
  local total=0 p line f
  [[ -z $1 ]] && { echo 0; return; }
  for p in $(proc_tree "$1"); do
    line=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a f <<<"${line##*) }" # skip "pid (comm) ": comm may contain spaces; f[0] is field 3
    total=$((total + f[11] + f[12] + f[13] + f[14])) # fields 14..17: utime stime cutime cstime
  done
  echo "$total"
}

# rss_kib PID: resident memory of PID's tree, KiB.
rss_kib() {
  local total=0 p kb
  for p in $(proc_tree "$1"); do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

# settled_rss_kib PID: RSS once two samples 0.5 s apart differ by under 0.5% (at most 10 s).
settled_rss_kib() {
  local prev now i
  prev=$(rss_kib "$1")
  for ((i = 0; i < 20; i++)); do
    sleep 0.5
    now=$(rss_kib "$1")
    ((now - prev < prev / 200 && prev - now < prev / 200)) && break
    prev=$now
  done
  echo "$now"
}

# start_proxy KIND NAME BACKEND_PORT: dispatch to proxy_<kind> and wait until it listens.
start_proxy() {
  local kind=$1 name=$2 backend=$3
  PROXY_PID=""
  if [[ $kind == direct ]]; then PROXY_PORT=$backend; return 0; fi
  free_port PROXY_PORT
  "proxy_${kind//-/_}" "$name" "$backend"
  wait_listen "$PROXY_PORT" "$PROXY_PID" "$name"
}

# strait_with NAME BACKEND_PORT on|off: Strait with one route (the defaults of --listen/--backend) and its access
# log on or off, from a config file, so that the two differ in nothing else.
strait_with() {
  local name=$1 backend=$2 enabled cfg=$WORK/$1.yaml
  case $3 in on) enabled=true ;; off) enabled=false ;; *) die "STRAIT_ACCESS_LOG must be on or off, not '$3'" ;; esac
  cat >"$cfg" <<EOF
accessLog: { enabled: $enabled }
routes:
  - name: default
    listen: 127.0.0.1:$PROXY_PORT
    backends: [127.0.0.1:$backend]
EOF
  # a private copy: the checkout's jar may be rebuilt while we run
  [[ -f $WORK/strait.jar ]] || cp "$STRAIT_JAR" "$WORK/strait.jar"
  # shellcheck disable=SC2086 # options are word lists on purpose
  spawn "$name" "$STRAIT_JAVA" $STRAIT_JAVA_OPTS -jar "$WORK/strait.jar" --config "$cfg" $STRAIT_ARGS
  PROXY_PID=$SPAWNED_PID
}
proxy_strait() { strait_with "$1" "$2" "$STRAIT_ACCESS_LOG"; }
proxy_strait_nolog() { strait_with "$1" "$2" off; }
proxy_strait_b() {
  local name=$1 backend=$2
  [[ -f $WORK/strait-b.jar ]] || cp "$STRAIT_JAR_B" "$WORK/strait-b.jar"
  # shellcheck disable=SC2086 # options are word lists on purpose
  spawn "$name" "$STRAIT_JAVA" $STRAIT_JAVA_OPTS -jar "$WORK/strait-b.jar" \
    --listen "127.0.0.1:$PROXY_PORT" --backend "127.0.0.1:$backend" $STRAIT_ARGS
  PROXY_PID=$SPAWNED_PID
}

haproxy_with() {
  local name=$1 backend=$2 extra=${3//; /$'\n'    } cfg=$WORK/$1.cfg
  cat >"$cfg" <<EOF
global
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 10m
    timeout server 10m
    $extra
listen relay
    bind 127.0.0.1:$PROXY_PORT
    server backend 127.0.0.1:$backend
EOF
  spawn "$name" haproxy -db -f "$cfg"
  PROXY_PID=$SPAWNED_PID
}
proxy_haproxy() { haproxy_with "$1" "$2" ""; }
proxy_haproxy_splice() { haproxy_with "$1" "$2" "$HAPROXY_SPLICE"; }

proxy_nginx() {
  local name=$1 backend=$2 dir=$WORK/$1
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
load_module $NGINX_STREAM_MODULE;
daemon off;
worker_processes auto;
worker_rlimit_nofile 16384;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8000; }
stream {
    server {
        listen 127.0.0.1:$PROXY_PORT backlog=4096;
        proxy_pass 127.0.0.1:$backend;
        proxy_connect_timeout 5s;
        proxy_timeout 10m;
    }
}
EOF
  spawn "$name" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
  PROXY_PID=$SPAWNED_PID
}

proxy_socat() {
  spawn "$1" socat "TCP-LISTEN:$PROXY_PORT,bind=127.0.0.1,reuseaddr,fork,backlog=4096" "TCP:127.0.0.1:$2"
  PROXY_PID=$SPAWNED_PID
}

# TLS-terminating kinds (the tls workload): they serve $WORK/tls/cert.pem + key.pem (ECDSA P-256, made by tls_certs)
# and relay plaintext to the backend; the *-rsa kinds serve $WORK/tls/rsa-cert.pem + rsa-key.pem (RSA-2048) instead,
# since a handshake's cost depends on the key (the JDK's engine in particular).
tls_certs() {
  local dir=$WORK/tls
  [[ -f $dir/cert.pem ]] && return 0
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/key.pem" \
    -out "$dir/cert.pem" -days 2 -subj /CN=bench.test -addext subjectAltName=DNS:bench.test 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/rsa-key.pem" \
    -out "$dir/rsa-cert.pem" -days 2 -subj /CN=bench.test -addext subjectAltName=DNS:bench.test 2>/dev/null
  cat "$dir/cert.pem" "$dir/key.pem" >"$dir/both.pem"
  cat "$dir/rsa-cert.pem" "$dir/rsa-key.pem" >"$dir/rsa-both.pem"
  chmod 644 "$dir"/*.pem
}

# strait_tls_with NAME BACKEND_PORT PROVIDER [PREFIX [JAR]]: PREFIX "rsa-" serves the RSA certificate; JAR "b" runs
# STRAIT_JAR_B's build (the strait-tls-b kind, for an A/B of two builds in the same rounds; it must know `tls:`).
strait_tls_with() {
  local name=$1 backend=$2 provider=$3 prefix=${4:-} jar=strait.jar source=$STRAIT_JAR cfg=$WORK/$1.yaml
  if [[ ${5:-} == b ]]; then jar=strait-b.jar source=$STRAIT_JAR_B; fi
  tls_certs
  [[ -f $WORK/$jar ]] || cp "$source" "$WORK/$jar"
  cat >"$cfg" <<EOF
routes:
  - name: tls
    listen: 127.0.0.1:$PROXY_PORT
    backends: [127.0.0.1:$backend]
    tls:
      certificates: [{ cert: $WORK/tls/${prefix}cert.pem, key: $WORK/tls/${prefix}key.pem }]
      provider: $provider
EOF
  # shellcheck disable=SC2086
  spawn "$name" "$STRAIT_JAVA" $STRAIT_JAVA_OPTS -jar "$WORK/$jar" --config "$cfg" $STRAIT_ARGS
  PROXY_PID=$SPAWNED_PID
}
proxy_strait_tls() { strait_tls_with "$1" "$2" openssl; }
proxy_strait_tls_b() { strait_tls_with "$1" "$2" openssl "" b; }
proxy_strait_tls_jdk() { strait_tls_with "$1" "$2" jdk; }
proxy_strait_tls_rsa() { strait_tls_with "$1" "$2" openssl rsa-; }
proxy_strait_tls_jdk_rsa() { strait_tls_with "$1" "$2" jdk rsa-; }

proxy_haproxy_tls() { haproxy_tls_with "$1" "$2" both.pem; }
proxy_haproxy_tls_rsa() { haproxy_tls_with "$1" "$2" rsa-both.pem; }
haproxy_tls_with() {
  local cfg=$WORK/$1.cfg
  tls_certs
  cat >"$cfg" <<EOF
global
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 10m
    timeout server 10m
listen relay
    bind 127.0.0.1:$PROXY_PORT ssl crt $WORK/tls/$3
    server backend 127.0.0.1:$2
EOF
  spawn "$1" haproxy -db -f "$cfg"
  PROXY_PID=$SPAWNED_PID
}

proxy_stunnel() {
  local cfg=$WORK/$1.conf
  tls_certs
  cat >"$cfg" <<EOF
foreground = yes
pid =
[relay]
accept = 127.0.0.1:$PROXY_PORT
connect = 127.0.0.1:$2
cert = $WORK/tls/cert.pem
key = $WORK/tls/key.pem
EOF
  spawn "$1" stunnel4 "$cfg"
  PROXY_PID=$SPAWNED_PID
}

# tls_client_tunnel NAME PROXY_PORT: a stunnel in client mode in front of a TLS-terminating proxy, so that plaintext
# load generators (iperf3) drive it; the same kind of tunnel for every proxy. Sets TUNNEL_PORT.
tls_client_tunnel() {
  local cfg=$WORK/$1.conf
  free_port TUNNEL_PORT
  cat >"$cfg" <<EOF
foreground = yes
pid =
[tunnel]
client = yes
accept = 127.0.0.1:$TUNNEL_PORT
connect = 127.0.0.1:$2
EOF
  spawn "$1" stunnel4 "$cfg"
  wait_listen "$TUNNEL_PORT" "$SPAWNED_PID" "$1"
}

# bounded_int NAME VALUE MIN MAX: validate a numeric setting.
bounded_int() {
  if ! [[ $2 =~ ^[0-9]+$ ]] || (($2 < $3 || $2 > $4)); then die "$1 must be an integer in [$3, $4], got '$2'"; fi
}
