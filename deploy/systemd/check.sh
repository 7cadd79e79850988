#!/usr/bin/env bash
# Checks the systemd units in this directory:
#   1. systemd-analyze verify on every unit (templates as instance 1, all enabled), ExecStart
#      pointed at BIN_DIR so that the "is the command executable" check sees real binaries;
#   2. any line verify prints about our units is a failure: verify exits 0 on unknown keys
#      (Restrat=) and on values it cannot parse (TimeoutStopSec=ninety), only warning;
#   3. systemd-analyze security --offline: no service's sandbox exposure above 2.0;
#   4. our own rules: TimeoutStopSec above SB_DRAIN_TIMEOUT_MS, and no two units or instances
#      1..9 on the same port (SB_ADMIN_HTTP, SB_LISTEN, SB_CLIENT_BIND, SB_WORKER_BIND).
# usage: check.sh [BIN_DIR]     (default: build/bin of this repository)
# Exit 0 clean, 1 a problem (printed), 77 cannot check here (ctest SKIP_RETURN_CODE).
# SYSTEMD_ANALYZE=path overrides the tool (for testing the skip).
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/bin}
sa=${SYSTEMD_ANALYZE:-systemd-analyze}

skip() { echo "SKIP: $*"; exit 77; }
if ! command -v "$sa" >/dev/null 2>&1; then
  skip "$sa not found: cannot verify systemd units on this host"
fi
[ -d "$bin" ] || { echo "FAIL: bin dir $bin does not exist (build first, or pass BIN_DIR)"; exit 1; }
bin=$(cd "$bin" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sb-units.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Can verify run here at all? A trivially valid unit must pass without a word; if it does not
# (no systemd libraries, a sandbox that forbids what verify needs), skip rather than fail.
printf '[Unit]\nDescription=canary\n[Service]\nExecStart=%s\n' "$(type -P true)" \
  > "$tmp/sb-check-canary.service"
if ! out=$("$sa" verify --man=no "$tmp/sb-check-canary.service" 2>&1) || [ -n "$out" ]; then
  skip "$sa verify cannot check even a trivial unit here: ${out:-it exits non-zero, silently}"
fi
rm "$tmp/sb-check-canary.service"

shopt -s nullglob
sources=("$here"/*.service "$here"/*.target)
[ ${#sources[@]} -gt 0 ] || { echo "FAIL: no units in $here"; exit 1; }
units=()
for f in "${sources[@]}"; do
  name=$(basename "$f")
  sed "s#^ExecStart=\([-@:+!]*\)/usr/local/bin/#ExecStart=\1$bin/#" "$f" > "$tmp/$name"
  # A template is verified as instance 1 (%i = 1), found through the template in $tmp.
  units+=("$tmp/${name/@./@1.}")
done
# As if instance 1 of everything were enabled (systemctl enable): verifying switchboard.target
# then builds the whole suite's start transaction, where ordering cycles show.
for f in "${sources[@]}"; do
  name=$(basename "$f")
  sed -n 's/^WantedBy=//p' "$f" | tr ' ' '\n' | while read -r t; do
    [ -n "$t" ] && mkdir -p "$tmp/$t.wants" && ln -sf "../$name" "$tmp/$t.wants/${name/@./@1.}"
  done
done

status=0
# 1 + 2: verify. Lines naming one of our units or $tmp are ours; others (a system unit we
# depend on) are shown but do not fail the check.
out=$("$sa" verify --man=no "${units[@]}" 2>&1)
rc=$?
ours='sb-[a-z-]*@\?[0-9]*\.service\|switchboard[a-z-]*\.target'
if [ -n "$out" ]; then
  echo "${out//$tmp\//}"
  if echo "$out" | grep -q -e "$tmp" -e "$ours"; then
    echo "FAIL: systemd-analyze verify warned about our units (above)"
    status=1
  fi
fi
if [ $rc -ne 0 ]; then
  echo "FAIL: systemd-analyze verify exited $rc"
  status=1
fi

# 3: the sandbox stays tight: exposure at most 2.0 of 10 (--threshold counts tenths; the
# units score 1.4). systemd before 250 has no --offline: noted, not failed.
services=()
for u in "${units[@]}"; do [[ $u == *.service ]] && services+=("$u"); done
if sec=$("$sa" security --offline=yes --threshold=20 --no-pager "${services[@]}" 2>&1); then :
elif echo "$sec" | grep -q -i 'unrecognized option\|unknown option'; then
  echo "note: $sa security --offline unsupported here; sandbox exposure not checked"
else
  echo "$sec" | grep -i 'overall exposure' | sed "s#$tmp/##"
  echo "FAIL: a unit's sandbox exposure is above 2.0 (systemd-analyze security --offline=yes)"
  status=1
fi

# 4a: stop timeout above the drain timeout.
for f in "${sources[@]}"; do
  drain=$(sed -n 's/^Environment=SB_DRAIN_TIMEOUT_MS=\([0-9]*\)$/\1/p' "$f")
  stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\?$/\1/p' "$f")
  if [ -n "$drain" ] && { [ -z "$stop" ] || [ $((stop * 1000)) -le "$drain" ]; }; then
    echo "FAIL: $(basename "$f"): TimeoutStopSec=${stop:-unset} is not above SB_DRAIN_TIMEOUT_MS=$drain"
    status=1
  fi
done

# 4b: every port of every unit, for instances 1..9 of templates.
ports=$(for f in "${sources[@]}"; do
  name=$(basename "$f")
  case $name in *@.service) insts="1 2 3 4 5 6 7 8 9" ;; *) insts="-" ;; esac
  for i in $insts; do
    sed -n 's/^Environment=SB_\(ADMIN_HTTP\|LISTEN\|CLIENT_BIND\|WORKER_BIND\)=.*:\([0-9%i]*\)$/\2/p' "$f" |
      sed "s/%i/$i/g; s#\$# ${name/@./@$i.}#"
  done
done)
dups=$(echo "$ports" | awk '{n[$1]++; u[$1]=u[$1] " " $2} END {for (p in n) if (n[p] > 1) print p ":" u[p]}' | sort)
bad=$(echo "$ports" | awk '$1 !~ /^[0-9]+$/ || $1 < 1024 || $1 > 65535')
if [ -n "$dups" ] || [ -n "$bad" ]; then
  echo "FAIL: port scheme:"; echo "${dups}${bad}" | sed 's/^/  /'
  status=1
fi

if [ $status -eq 0 ]; then
  echo "OK: ${#sources[@]} units verified, sandbox exposure <= 2.0, $(echo "$ports" | wc -l) ports all distinct; binaries from $bin"
fi
exit $status
