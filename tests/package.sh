#!/usr/bin/env bash
# tests/package.sh — the Debian package, end to end, on this machine:
# builds it (cpack -G DEB), checks its control data and file list, installs
# it (dpkg -i), checks the installed units (systemd-analyze verify and
# security), starts the INSTALLED daemon as its unit would, runs the
# INSTALLED client against it (devices, a small job from the installed
# examples to its verdict, bash completion, a reload), stops it, removes
# and purges the package and checks that nothing is left.
#   tests/package.sh BUILD_DIR [CPACK]      (ctest test "package")
# Needs root and dpkg; skips (77) otherwise. It changes the machine: a
# system user and groups (kept after purge, as Debian does), and, for its
# duration, /usr/sbin/flatlined, /etc/flatline and the units. A flatline
# package that is already installed is not touched (skip).
# No systemd as PID 1 is needed (CI has none): the daemon is started by
# hand with the unit's ExecStart=, User=, Group=, UMask= and Environment=.
set -euo pipefail

build=$(cd "${1:?usage: tests/package.sh BUILD_DIR [CPACK]}" && pwd)
cpack=${2:-cpack}
pkg=flatline
# The issue's bar: no worse than the unit scored before this package.
security_max=2.5

skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

[[ $(id -u) -eq 0 ]] || skip "needs root (dpkg -i installs into this machine)"
for tool in dpkg dpkg-deb dpkg-shlibdeps systemd-analyze setpriv; do
  command -v "$tool" >/dev/null || skip "no $tool here (tools/deps.sh installs it)"
done
if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == *"ok installed"* ||
      $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == *config-files* ]]; then
  skip "a $pkg package is already installed here; not replacing it"
fi

tmp=$(mktemp -d /tmp/fl-package.XXXXXX)
# The daemon's user must reach its folders below this one.
chmod 0755 "$tmp"
daemon_pid=""
installed=0
cleanup() {
  local rc=$?
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -KILL "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if ((installed)); then dpkg --purge "$pkg" >/dev/null 2>&1 || true; fi
  if ((rc != 0)) && [[ -f $tmp/daemon.log ]]; then
    echo "-- daemon log:"; tail -n 40 "$tmp/daemon.log"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- build ------------------------------------------------------------------
step "cpack -G DEB"
"$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/cpack" > "$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log"; fail "cpack failed"; }
debs=("$tmp"/cpack/"$pkg"_*.deb)
[[ -f ${debs[0]} && ${#debs[@]} -eq 1 ]] || { cat "$tmp/cpack.log"; fail "no single .deb made"; }
deb=${debs[0]}
echo "$(basename "$deb"): $(du -h "$deb" | cut -f1)"

# --- what it declares --------------------------------------------------------
step "control data"
dpkg-deb -f "$deb" Package Version Architecture Depends Recommends
depends=$(dpkg-deb -f "$deb" Depends)
# dpkg-shlibdeps must have found the runtime libraries of the binaries.
for lib in libuv1 libcjson1 libclblast1 ocl-icd-libopencl1 libssl3 libc6 procps; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
[[ $(dpkg-deb -f "$deb" Recommends) == *pocl-opencl-icd* ]] || fail "Recommends lacks pocl-opencl-icd"
# (Whole listings in files: `grep -q` on a pipe ends it early, which
# pipefail would count as a failure.)
mkdir "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/flatline/flatlined.conf "$tmp/control/conffiles" ||
  fail "/etc/flatline/flatlined.conf is not a conffile"
for script in postinst prerm postrm; do
  [[ -x $tmp/control/$script ]] || fail "no $script"
done

# Where systemd looks, as pkg-config says (or systemd's own default).
pc() { local v; v=$(pkg-config --variable="$2" "$1" 2>/dev/null) || true; echo "${v:-$3}"; }
system_dir=$(pc systemd systemdsystemunitdir /usr/lib/systemd/system)
user_dir=$(pc systemd systemduserunitdir /usr/lib/systemd/user)
sysusers_dir=$(pc systemd sysusersdir /usr/lib/sysusers.d)
completion_dir=$(pc bash-completion completionsdir /usr/share/bash-completion/completions)
doc=/usr/share/doc/flatline
expect=(/usr/sbin/flatlined /usr/bin/flatline
        /usr/share/man/man1/flatline.1 /usr/share/man/man8/flatlined.8
        "$system_dir/flatlined.service" "$system_dir/flatlined.socket"
        "$user_dir/flatlined.service" "$user_dir/flatlined.socket"
        "$sysusers_dir/flatline.conf" /etc/flatline/flatlined.conf
        "$completion_dir/flatline"
        "$doc/README.md" "$doc/README.systemd.md" "$doc/spec.md" "$doc/model-format.md"
        "$doc/examples/blobs/mlp.json" "$doc/examples/blobs/blobs.csv")
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' > "$tmp/contents"
for f in "${expect[@]}"; do grep -qx "$f" "$tmp/contents" || fail "the package lacks $f"; done
# Only Debian's copies: none of `cmake --install`'s prefix-relative units.
if grep "^$system_dir/." "$tmp/contents" | grep -qv "/flatlined\.\(service\|socket\)$"; then
  fail "unexpected files in $system_dir"
fi
[[ $(grep -c "/flatlined.service$" "$tmp/contents") -eq 2 ]] || fail "units installed twice"

# --- install ----------------------------------------------------------------
step "dpkg -i"
installed=1
dpkg -i "$deb" > "$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i failed"; }
for f in "${expect[@]}"; do [[ -e $f ]] || fail "$f not installed"; done
# postinst: the accounts (systemd-sysusers) and the enabled socket.
getent passwd flatlined >/dev/null || fail "postinst did not create the user flatlined"
getent group flatline >/dev/null || fail "postinst did not create the group flatline"
[[ -L /etc/systemd/system/sockets.target.wants/flatlined.socket ]] ||
  fail "postinst did not enable flatlined.socket"
# Where systemd itself searches for units.
grep -qx "$system_dir" <<< "$(systemd-analyze unit-paths)" || fail "$system_dir is not a unit path"

step "systemd-analyze verify (installed units)"
systemd-analyze verify --man=no "$system_dir/flatlined.socket" "$system_dir/flatlined.service" \
  > "$tmp/verify.log" 2>&1 || { cat "$tmp/verify.log"; fail "verify: system units"; }
if [[ -s $tmp/verify.log ]]; then cat "$tmp/verify.log"; fail "verify complained"; fi
# The user units as a user manager would load them.
XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$tmp} systemd-analyze --user verify --man=no \
  "$user_dir/flatlined.socket" "$user_dir/flatlined.service" > "$tmp/verify-user.log" 2>&1 ||
  { cat "$tmp/verify-user.log"; fail "verify: user units"; }
if [[ -s $tmp/verify-user.log ]]; then cat "$tmp/verify-user.log"; fail "verify (user) complained"; fi

step "systemd-analyze security --offline=yes"
systemd-analyze security --offline=yes "$system_dir/flatlined.service" > "$tmp/security.log" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for flatlined.service: \([0-9.]*\).*/\1/p' "$tmp/security.log")
[[ -n $score ]] || { cat "$tmp/security.log"; fail "no exposure level"; }
echo "exposure $score (at most $security_max)"
awk -v s="$score" -v m="$security_max" 'BEGIN { exit !(s <= m) }' ||
  { grep "✗" "$tmp/security.log"; fail "exposure $score is worse than $security_max"; }

# --- the installed daemon, as its unit starts it -----------------------------
step "start the installed daemon as flatlined.service would"
unit_value() { sed -n "s/^$1=//p" "$system_dir/flatlined.service"; }
exec_start=$(unit_value ExecStart)
user=$(unit_value User) group=$(unit_value Group) umask_=$(unit_value UMask)
[[ $exec_start == /usr/sbin/flatlined ]] || fail "ExecStart=$exec_start"
[[ -n $user && -n $group ]] || fail "no User=/Group= in the unit"
# StateDirectory=/CacheDirectory=: folders of the unit's user, mode 0750;
# the socket folder stands for /run (the daemon binds the socket itself
# here: no systemd to hand it over). %C in Environment= is the cache root.
mkdir -p "$tmp/state/flatline" "$tmp/cache/flatline" "$tmp/run"
chown "$user:$group" "$tmp/state/flatline" "$tmp/cache/flatline" "$tmp/run"
chmod 0750 "$tmp/state/flatline" "$tmp/cache/flatline"
env_args=(PATH=/usr/sbin:/usr/bin:/sbin:/bin "STATE_DIRECTORY=$tmp/state/flatline"
          "CACHE_DIRECTORY=$tmp/cache/flatline")
while read -r assignment; do
  env_args+=("${assignment//%C/$tmp/cache}")
done < <(unit_value Environment)
sock=$tmp/run/flatline.sock
# SystemCallFilter= cannot be applied without systemd; instead the daemon
# runs under strace, and every system call it (its driver, POCL, LLVM)
# makes is checked against the unit's deny list after the job.
tracer=()
if command -v strace >/dev/null; then
  tracer=(strace -f -qq -o "$tmp/syscalls.trace")
elif [[ ${FL_CI:-0} == 1 ]]; then
  fail "no strace (tools/deps.sh installs it)"
fi
# SupplementaryGroups= (render, video: GPU nodes) are left out: render may
# not exist on a machine without udev, and POCL needs neither.
(umask "$umask_"; exec "${tracer[@]}" setpriv --reuid="$user" --regid="$group" --clear-groups \
   env -i "${env_args[@]}" $exec_start --socket "$sock" --socket-mode 0660) \
  > "$tmp/daemon.log" 2>&1 &
launcher_pid=$!
daemon_pid=$launcher_pid
for ((i = 0; i < 600; i++)); do
  [[ -S $sock ]] && break
  kill -0 "$launcher_pid" 2>/dev/null || fail "the daemon exited"
  sleep 0.1
done
# Under strace the daemon is strace's child (setpriv and env exec it).
if ((${#tracer[@]})); then daemon_pid=$(pgrep -P "$launcher_pid" -x flatlined); fi
[[ -n $daemon_pid ]] || fail "no flatlined process"
[[ -S $sock ]] || fail "no socket after 60 s"
[[ $(stat -c %U "$sock") == "$user" ]] || fail "the daemon does not run as $user"
# It found and read the installed conffile by itself.
grep -q "config /etc/flatline/flatlined.conf" "$tmp/daemon.log" ||
  fail "the daemon did not read /etc/flatline/flatlined.conf"

step "the installed client against it"
export FLATLINE_SOCKET=$sock
/usr/bin/flatline devices | tee "$tmp/devices.out"
grep -Eq '^ +0 ' "$tmp/devices.out" || fail "flatline devices lists no device"
# A copy of an installed example, as a user would make one.
cp -r "$doc/examples/blobs" "$tmp/job"
rc=0
timeout 120 /usr/bin/flatline --json submit --follow "$tmp/job/mlp.json" > "$tmp/job.jsonl" || rc=$?
grep '"event":"verdict"' "$tmp/job.jsonl" | cut -c1-200 || true
[[ $rc -eq 0 ]] || { tail -n 5 "$tmp/job.jsonl"; fail "the job exited $rc"; }
grep -q '"event":"verdict".*"verdict":"healthy"' "$tmp/job.jsonl" ||
  fail "no healthy verdict for the example job"
/usr/bin/flatline list

step "bash completion (installed file, installed client)"
completion=$(bash -c '
  source "$1"
  complete_line() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _flatline; echo "${COMPREPLY[*]}"; }
  echo "commands: $(complete_line /usr/bin/flatline "")"
  echo "sub: $(complete_line /usr/bin/flatline su)"
  echo "options: $(complete_line /usr/bin/flatline export j1 --)"
  echo "jobs: $(complete_line /usr/bin/flatline show "")"
' _ "$completion_dir/flatline")
echo "$completion"
grep -q "^commands: .*submit.*devices.*help" <<< "$completion" || fail "completion: commands"
grep -qx "sub: submit" <<< "$completion" || fail "completion: prefix"
grep -q "^options: .*--json.*--output" <<< "$completion" || fail "completion: options"
grep -qx "jobs: j1" <<< "$completion" || fail "completion: job ids from the daemon"

step "reload (the unit's ExecReload=)"
echo "max_queued_jobs = 5" >> /etc/flatline/flatlined.conf
reload=$(unit_value ExecReload)
[[ $reload == '/bin/kill -HUP $MAINPID' ]] || fail "ExecReload=$reload"
${reload//\$MAINPID/$daemon_pid}
for ((i = 0; i < 100; i++)); do
  grep -q "SIGHUP: reloaded /etc/flatline/flatlined.conf" "$tmp/daemon.log" && break
  sleep 0.1
done
grep -q "SIGHUP: reloaded /etc/flatline/flatlined.conf" "$tmp/daemon.log" || fail "no reload"

step "stop (KillSignal=SIGTERM)"
kill -TERM "$daemon_pid"
rc=0
wait "$launcher_pid" || rc=$? # strace exits with its tracee's status
daemon_pid=""
[[ $rc -eq 0 ]] || fail "the daemon exited $rc on SIGTERM"

if [[ -f $tmp/syscalls.trace ]]; then
  step "system calls against SystemCallFilter="
  filter=$(unit_value SystemCallFilter)
  [[ $filter == "~"* ]] || fail "SystemCallFilter= is not a deny list: $filter"
  # shellcheck disable=SC2086 # one word per group
  denied=$(systemd-analyze syscall-filter ${filter#\~} | sed -n 's/^    \([a-z_0-9]\+\)$/\1/p' | sort -u)
  [[ -n $denied ]] || fail "systemd-analyze syscall-filter listed nothing"
  # "PID name(args) = ret" and "PID <... name resumed>" lines.
  used=$(sed -n 's/^[0-9]\+ \+\([a-z_0-9]\+\)(.*/\1/p; s/^[0-9]\+ \+<\.\.\. \([a-z_0-9]\+\) resumed>.*/\1/p' \
         "$tmp/syscalls.trace" | sort -u)
  echo "$(wc -l <<< "$used") distinct system calls made, $(wc -l <<< "$denied") denied by the unit"
  hit=$(comm -12 <(echo "$denied") <(echo "$used"))
  [[ -z $hit ]] || fail "the daemon made system calls the unit denies: $hit"
fi

# --- remove, then purge -------------------------------------------------------
# What StateDirectory= would have made under systemd, to see purge remove it.
mkdir -p /var/lib/flatline/jobs /var/cache/flatline
step "dpkg --remove: state and conffile stay"
dpkg --remove "$pkg" > "$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg --remove failed"; }
[[ ! -e /usr/sbin/flatlined && ! -e $system_dir/flatlined.service ]] || fail "remove left binaries or units"
[[ -d /var/lib/flatline/jobs ]] || fail "remove deleted the state (only purge may)"
[[ -f /etc/flatline/flatlined.conf ]] || fail "remove deleted the conffile (only purge may)"
step "dpkg --purge: nothing left"
dpkg --purge "$pkg" > "$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg --purge failed"; }
installed=0
left=()
while read -r f; do
  [[ -n $f && ! -d $f && -e $f ]] && left+=("$f")
done < "$tmp/contents"
((${#left[@]} == 0)) || fail "left after purge: ${left[*]}"
for f in /etc/flatline /var/lib/flatline /var/cache/flatline "$doc"; do
  [[ ! -e $f ]] || fail "$f is still there after purge"
done
if find /etc/systemd/system -name 'flatlined.*' | grep .; then
  fail "unit links or masks left in /etc/systemd/system"
fi
dpkg-query -W "$pkg" >/dev/null 2>&1 && fail "dpkg still knows $pkg"
echo "== package test passed ($(basename "$deb"), exposure $score)"
