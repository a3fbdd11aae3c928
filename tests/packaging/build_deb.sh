#!/bin/bash
# tests/packaging/build_deb.sh: builds the hearsay, libhearsay0 and libhearsay-dev .debs from
# a temporary copy of the tree, runs lintian, installs the packages with dpkg, starts the
# installed hearsayd the way hearsay.service does (as user hearsay, packaged paths, a
# temporary config on 127.0.0.1, a key made with the installed `hearsay keygen`), queries it
# with the installed `hearsay members` / `hearsay check` and with a C program compiled
# against the installed libhearsay-dev (`cc ... $(pkg-config --cflags --libs hearsay)`, and
# once linked statically), stops it with SIGTERM and purges the packages.
#
# Changes the system (installs and purges a package, creates the hearsay user), so ctest
# runs it (packaging.deb) only as root, as CI does. Run it as root on a Debian 12 machine
# or container where hearsay is not otherwise installed:
#
#   sudo tests/packaging/build_deb.sh            # build, lint, install, run, purge
#   KEEP=1 tests/packaging/build_deb.sh          # keep the temp dir and the package
#
# Needs: dpkg-dev, debhelper, lintian, fakeroot and the Build-Depends of debian/control
# (the script installs missing ones with apt-get when it can). Works offline once they are
# installed. Exit status 0 when every step passed; the last line says "N passed, N failed".
set -u
set -o pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KEEP=${KEEP:-0}
PASS=0
FAIL=0
step() { printf '\n=== %s\n' "$*"; }
ok() { PASS=$((PASS + 1)); printf 'ok: %s\n' "$*"; }
bad() { FAIL=$((FAIL + 1)); printf 'FAIL: %s\n' "$*"; }
finish() {
    printf '\n%d passed, %d failed\n' "$PASS" "$FAIL"
    [ "$FAIL" -eq 0 ]
    exit $?
}

if [ "$(id -u)" -ne 0 ]; then
    echo "build_deb.sh: must run as root (it installs and purges the package)" >&2
    exit 2
fi
PKGS="libhearsay-dev libhearsay0 hearsay" # purge order
for p in $PKGS; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed"; then
        echo "build_deb.sh: $p is already installed here; refusing to replace it" >&2
        exit 2
    fi
done

# --- tools and build dependencies --------------------------------------------------------
need=()
for p in dpkg-dev debhelper lintian fakeroot build-essential cmake pkg-config python3 \
    libevent-dev libsodium-dev libjansson-dev libinih-dev libcmocka-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
    step "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" || {
        echo "cannot install ${need[*]}" >&2
        exit 2
    }
fi

WORK=$(mktemp -d /tmp/hearsay-deb-XXXXXX)
DAEMON_PID=
cleanup() {
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -KILL "$DAEMON_PID" 2>/dev/null
    fi
    if [ -n "${NOTIFY_PID:-}" ]; then
        kill "$NOTIFY_PID" 2>/dev/null
    fi
    if [ "$KEEP" != 1 ]; then
        rm -f /etc/hearsay/hearsay.key
        for p in $PKGS; do
            if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed"; then
                dpkg --purge "$p" >/dev/null 2>&1
            fi
        done
        rm -rf "$WORK"
    else
        echo "kept: $WORK"
    fi
}
trap cleanup EXIT

# --- build -------------------------------------------------------------------------------
step "copying the tree to $WORK/src"
mkdir -p "$WORK/src"
# other work may be changing files while we copy: tar's exit status 1 ("file changed as
# we read it") is fine, 2 is not
tar -C "$ROOT" --exclude=./.git --exclude='./build*' --exclude='./obj-*' \
    --exclude='./debian/hearsay' --exclude='./debian/.debhelper' --exclude='./debian/tmp' \
    --warning=no-file-changed -cf - . | tar -C "$WORK/src" -xf -
st=("${PIPESTATUS[@]}")
if [ "${st[0]}" -gt 1 ] || [ "${st[1]}" -ne 0 ]; then
    bad "copy tree"
    finish
fi

step "dpkg-buildpackage -us -uc -b"
if (cd "$WORK/src" && dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
    ok "dpkg-buildpackage"
else
    tail -40 "$WORK/build.log"
    bad "dpkg-buildpackage (log: $WORK/build.log)"
    KEEP=1
    finish
fi
DEB=$(ls "$WORK"/hearsay_*.deb | head -1)
LIBDEB=$(ls "$WORK"/libhearsay0_*.deb | head -1)
DEVDEB=$(ls "$WORK"/libhearsay-dev_*.deb | head -1)
CHANGES=$(ls "$WORK"/hearsay_*.changes | head -1)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
echo "built: $DEB $LIBDEB $DEVDEB"
for d in "$DEB" "$LIBDEB" "$DEVDEB"; do dpkg-deb -c "$d" | awk '{print $1, $6, $7, $8}'; done

step "package contents"
contents=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/sbin/hearsayd ./usr/bin/hearsay ./etc/hearsay/hearsay.conf \
    ./lib/systemd/system/hearsay.service ./usr/lib/sysusers.d/hearsay.conf \
    ./usr/lib/tmpfiles.d/hearsay.conf ./usr/share/man/man8/hearsayd.8.gz \
    ./usr/share/man/man1/hearsay.1.gz ./usr/share/man/man5/hearsay.conf.5.gz \
    ./usr/libexec/hearsay/hearsay-cron-check; do
    if grep -qx "$f" <<<"$contents"; then ok "contains $f"; else bad "missing $f"; fi
done
if dpkg-deb -I "$DEB" conffiles | grep -qx /etc/hearsay/hearsay.conf; then
    ok "/etc/hearsay/hearsay.conf is a conffile"
else
    bad "/etc/hearsay/hearsay.conf is not a conffile"
fi
if [ -f "$ROOT/packaging/completion/hearsay.bash" ]; then
    if grep -qx ./usr/share/bash-completion/completions/hearsay <<<"$contents"; then
        ok "bash completion installed"
    else
        bad "bash completion missing"
    fi
else
    echo "note: packaging/completion/hearsay.bash does not exist yet; no completion shipped"
fi

step "libhearsay0 / libhearsay-dev contents"
libc=$(dpkg-deb -c "$LIBDEB" | awk '{print $6}')
devc=$(dpkg-deb -c "$DEVDEB" | awk '{print $6}')
for f in ./usr/lib/$MA/libhearsay.so.0 ./usr/lib/$MA/libhearsay.so.0.1.0; do
    if grep -qx "$f" <<<"$libc"; then ok "libhearsay0 contains $f"; else bad "libhearsay0 misses $f"; fi
done
for f in ./usr/include/hearsay/client.h ./usr/lib/$MA/libhearsay.so ./usr/lib/$MA/libhearsay.a \
    ./usr/lib/$MA/pkgconfig/hearsay.pc ./usr/share/man/man3/libhearsay.3.gz \
    ./usr/share/doc/libhearsay-dev/examples/libhearsay_probe.c; do
    if grep -qx "$f" <<<"$devc"; then ok "libhearsay-dev contains $f"; else bad "libhearsay-dev misses $f"; fi
done
if grep -q libhearsay <<<"$contents"; then bad "hearsay ships libhearsay files"; else ok "hearsay ships no libhearsay files"; fi
dpkg-deb -x "$LIBDEB" "$WORK/libx"
so=$WORK/libx/usr/lib/$MA/libhearsay.so.0.1.0
soname=$(objdump -p "$so" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = libhearsay.so.0 ] && ok "SONAME libhearsay.so.0" || bad "SONAME is '$soname'"
exported=$(nm -D --defined-only "$so" | awk '{print $3}')
echo "exported: $(wc -l <<<"$exported") symbols"
if [ -n "$exported" ] && ! grep -qv '^hs_client_' <<<"$exported"; then
    ok "only hs_client_* symbols exported"
else
    bad "symbols outside hs_client_*: $(grep -v '^hs_client_' <<<"$exported" | tr '\n' ' ')"
fi
if grep -q '^libhearsay.so.0 libhearsay0' <<<"$(dpkg-deb -I "$LIBDEB" symbols)"; then
    ok "libhearsay0 has a symbols file"
else
    bad "libhearsay0 has no symbols file"
fi

step "lintian"
lintian --version
lintian_out=$(lintian --fail-on error,warning --display-info "$CHANGES" 2>&1)
lrc=$?
printf '%s\n' "$lintian_out"
if [ $lrc -eq 0 ] && ! grep -qE '^[EW]: ' <<<"$lintian_out"; then
    ok "lintian: no errors or warnings"
else
    bad "lintian reported errors or warnings"
fi

# --- install -----------------------------------------------------------------------------
step "dpkg -i"
if dpkg -i "$DEB" "$LIBDEB" "$DEVDEB"; then ok "dpkg -i hearsay libhearsay0 libhearsay-dev"; else
    bad "dpkg -i"
    finish
fi
if getent passwd hearsay >/dev/null; then ok "user hearsay exists (sysusers)"; else bad "no user hearsay"; fi
for d in /var/lib/hearsay /run/hearsay; do
    if [ "$(stat -c %U "$d" 2>/dev/null)" = hearsay ]; then ok "$d owned by hearsay (tmpfiles)"; else bad "$d not created/owned by hearsay"; fi
done
if [ -L /etc/systemd/system/multi-user.target.wants/hearsay.service ]; then
    ok "hearsay.service enabled"
else
    bad "hearsay.service not enabled"
fi

step "systemd-analyze on the installed unit"
if systemd-analyze verify /lib/systemd/system/hearsay.service; then
    ok "systemd-analyze verify clean"
else
    bad "systemd-analyze verify"
fi
score=$(systemd-analyze security --offline=true /lib/systemd/system/hearsay.service 2>&1 |
    sed -n 's/.*Overall exposure level for hearsay.service: \([0-9.]*\).*/\1/p')
echo "exposure: ${score:-?}"
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    ok "systemd-analyze security $score <= 2.0"
else
    bad "systemd-analyze security ${score:-?} > 2.0"
fi

# --- run the installed daemon as the unit would --------------------------------------------
step "key file and config"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if hearsay keygen -o /etc/hearsay/hearsay.key; then ok "hearsay keygen -o"; else bad "hearsay keygen"; fi
# the tmpfiles z line gives the key to the hearsay user with mode 0600
systemd-tmpfiles --create hearsay.conf
if [ "$(stat -c '%U %a' /etc/hearsay/hearsay.key)" = "hearsay 600" ]; then
    ok "key file hearsay 0600 after systemd-tmpfiles"
else
    bad "key file is $(stat -c '%U %a' /etc/hearsay/hearsay.key)"
fi
conf=$WORK/hearsay.conf
cat >"$conf" <<CONF
[hearsay]
name = pkgtest
bind = 127.0.0.1:$port
key-file = /etc/hearsay/hearsay.key
tag = role=pkgtest
log-level = debug
CONF
chmod 644 "$conf"
chmod 755 "$WORK"

step "start /usr/sbin/hearsayd as user hearsay (with a NOTIFY_SOCKET)"
notify=$WORK/notify.sock
python3 - "$notify" >"$WORK/notify.log" 2>&1 <<'PY' &
import os, socket, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
s.settimeout(1.0)
deadline = time.time() + 120  # the script kills us long before
while time.time() < deadline:
    try:
        msg = s.recv(4096).decode(errors="replace")
    except socket.timeout:
        continue
    for line in msg.splitlines():
        print(line, flush=True)
PY
NOTIFY_PID=$!
for _ in $(seq 1 100); do
    [ -S "$notify" ] && break
    sleep 0.1
done
# WATCHDOG_USEC as systemd sets it for WatchdogSec= (2 s here, so the test need not wait
# long): the daemon must then send WATCHDOG=1 about every second.
NOTIFY_SOCKET=$notify WATCHDOG_USEC=2000000 setpriv --reuid=hearsay --regid=hearsay --init-groups \
    /usr/sbin/hearsayd -c "$conf" --socket /run/hearsay/api.sock --data-dir /var/lib/hearsay \
    2>"$WORK/hearsayd.log" &
DAEMON_PID=$!
for _ in $(seq 1 50); do
    [ -S /run/hearsay/api.sock ] && break
    sleep 0.1
done
sleep 0.5
if [ -S /run/hearsay/api.sock ]; then ok "daemon up, socket /run/hearsay/api.sock"; else
    bad "daemon did not create its socket"
    cat "$WORK/hearsayd.log"
fi

step "hearsay members / check / health"
out=$(hearsay members --json)
echo "$out"
if grep -q '"name": *"pkgtest"' <<<"$out" && grep -q '"status": *"alive"' <<<"$out"; then
    ok "hearsay members shows pkgtest alive"
else
    bad "hearsay members"
fi
hearsay members
out=$(hearsay check --min-alive 1)
crc=$?
echo "$out"
if [ $crc -eq 0 ]; then ok "hearsay check OK"; else bad "hearsay check exit $crc"; fi
if /usr/libexec/hearsay/hearsay-cron-check --min-alive 1; then ok "hearsay-cron-check OK"; else bad "hearsay-cron-check"; fi
out=$(/usr/libexec/hearsay/hearsay-cron-check --min-alive 5)
crc=$?
echo "$out"
if [ $crc -eq 2 ]; then ok "hearsay-cron-check CRITICAL below --min-alive"; else bad "hearsay-cron-check gave $crc, wanted 2"; fi
step "a C program built with pkg-config against the installed libhearsay-dev"
ex=/usr/share/doc/libhearsay-dev/examples/libhearsay_probe.c
echo "pkg-config --cflags --libs hearsay: $(pkg-config --cflags --libs hearsay)"
echo "pkg-config --static --libs hearsay: $(pkg-config --static --libs hearsay)"
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror -o "$WORK/probe" "$ex" $(pkg-config --cflags --libs hearsay); then
    ok "cc \$(pkg-config --cflags --libs hearsay)"
else
    bad "compiling against libhearsay-dev"
fi
# (/lib is /usr/lib on a merged-/usr system)
libs=$(ldd "$WORK/probe") # not piped into grep -q: pipefail and SIGPIPE
if grep -qE "libhearsay\.so\.0 => (/usr)?/lib/$MA/libhearsay\.so\.0 " <<<"$libs"; then
    ok "probe uses the installed libhearsay.so.0"
else
    bad "probe does not load /usr/lib/$MA/libhearsay.so.0: $(tr '\n' ' ' <<<"$libs")"
fi
# shellcheck disable=SC2046
if cc -std=c11 -o "$WORK/probe-static" "$ex" $(pkg-config --cflags hearsay) \
    -Wl,-Bstatic $(pkg-config --static --libs hearsay) -Wl,-Bdynamic &&
    ! grep -q libhearsay <<<"$(ldd "$WORK/probe-static")"; then
    ok "static link with pkg-config --static (libhearsay.a, jansson from Requires.private)"
else
    bad "static link against libhearsay.a"
fi
out=$("$WORK/probe" /run/hearsay/api.sock members)
echo "$out"
if [ "$out" = "$(printf 'pkgtest alive 127.0.0.1:%s role=pkgtest\ncount 1' "$port")" ]; then
    ok "libhearsay: members"
else
    bad "libhearsay: members"
fi
out=$("$WORK/probe-static" /run/hearsay/api.sock members alive role=pkgtest)
[ "$(tail -1 <<<"$out")" = "count 1" ] && ok "libhearsay (static): members with filters" || bad "libhearsay (static): members: $out"
# "-": the default socket /run/hearsay/api.sock
out=$(env -u HEARSAY_SOCKET "$WORK/probe" - health)
echo "$out"
grep -q '^status ok ok 1 insecure 0 members 1 alive 1 ' <<<"$out" && ok "libhearsay: health on the default socket" || bad "libhearsay: health"
out=$("$WORK/probe" - counts)
[ "$out" = "total 1 alive 1 suspect 0 failed 0 left 0" ] && ok "libhearsay: counts" || bad "libhearsay: counts: $out"
out=$("$WORK/probe" - tags-set pkgtag "from libhearsay")
if [ "$out" = "tags set" ] && grep -q '"pkgtag": *"from libhearsay"' <<<"$(hearsay members --json)"; then
    ok "libhearsay: tags set, seen by hearsay members"
else
    bad "libhearsay: tags set: $out"
fi
out=$("$WORK/probe" - tags-delete pkgtag)
[ "$out" = "tag role=pkgtest" ] && ok "libhearsay: tags delete" || bad "libhearsay: tags delete: $out"
out=$("$WORK/probe" - config-get no.such.key)
prc=$?
echo "$out"
if [ $prc -eq 1 ] && grep -q '^error -8: not found: ' <<<"$out"; then ok "libhearsay: unknown config key is HS_CLIENT_ENOTFOUND"; else bad "libhearsay: config-get: $prc $out"; fi
out=$("$WORK/probe" "$WORK/no-such.sock" members)
prc=$?
if [ $prc -eq 2 ] && grep -q '^error -1: agent not reachable' <<<"$out"; then ok "libhearsay: unreachable agent"; else bad "libhearsay: unreachable: $prc $out"; fi

mode=$(stat -c '%U:%G %a' /run/hearsay/api.sock)
echo "socket: $mode"
[ "$mode" = "hearsay:hearsay 660" ] && ok "socket hearsay:hearsay 0660" || bad "socket is $mode"

sleep 2.5 # several watchdog periods

step "SIGHUP reload, then SIGTERM graceful leave"
kill -HUP "$DAEMON_PID"
sleep 0.5
kill -0 "$DAEMON_PID" 2>/dev/null && ok "alive after SIGHUP" || bad "died on SIGHUP"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
drc=$?
DAEMON_PID=
[ $drc -eq 0 ] && ok "exit status 0 after SIGTERM" || bad "exit status $drc after SIGTERM"
sleep 0.2
kill "$NOTIFY_PID" 2>/dev/null
wait "$NOTIFY_PID" 2>/dev/null
NOTIFY_PID=
echo "--- sd_notify messages:"
cat "$WORK/notify.log"
grep -qx 'READY=1' "$WORK/notify.log" && ok "READY=1 received" || bad "no READY=1"
# hearsay.service sets WatchdogSec=: without WATCHDOG=1 systemd would kill the agent.
for m in STATUS= WATCHDOG=1; do
    if grep -q "^$m" "$WORK/notify.log"; then ok "$m received"; else bad "no $m from the daemon (docs/operations.md, systemd integration)"; fi
done
n=$(grep -c '^WATCHDOG=1' "$WORK/notify.log")
echo "WATCHDOG=1 messages in ~4 s with WATCHDOG_USEC=2000000: $n"
if grep -q '^STOPPING=1' "$WORK/notify.log"; then ok "STOPPING=1 received"; else echo "note: no STOPPING=1 (optional)"; fi
echo "--- daemon log:"
cat "$WORK/hearsayd.log"

# --- upgrade -----------------------------------------------------------------------------
step "upgrade to a repacked newer version keeps a locally changed conffile"
echo "# local change by build_deb.sh" >>/etc/hearsay/hearsay.conf
rp=$WORK/repack
dpkg-deb -R "$DEB" "$rp"
sed -i 's/^Version: .*/&+upgtest1/' "$rp/DEBIAN/control"
dpkg-deb -b "$rp" "$WORK/upgrade.deb" >/dev/null
if dpkg -i "$WORK/upgrade.deb"; then ok "dpkg -i (upgrade)"; else bad "dpkg -i (upgrade)"; fi
if grep -q "local change by build_deb.sh" /etc/hearsay/hearsay.conf; then
    ok "local conffile change kept on upgrade"
else
    bad "local conffile change lost on upgrade"
fi
[ "$(stat -c %U /var/lib/hearsay)" = hearsay ] && ok "state directory kept on upgrade" || bad "state directory lost on upgrade"

# --- purge -------------------------------------------------------------------------------
step "dpkg --purge"
if [ "$KEEP" != 1 ]; then
    rm -f /etc/hearsay/hearsay.key # the administrator's file, not the package's
    # shellcheck disable=SC2086
    if dpkg --purge $PKGS; then ok "dpkg --purge $PKGS"; else bad "dpkg --purge"; fi
    [ ! -e "/usr/lib/$MA/libhearsay.so.0" ] && [ ! -e /usr/include/hearsay/client.h ] &&
        ok "libhearsay files removed" || bad "libhearsay files left"
    [ ! -e /etc/hearsay/hearsay.conf ] && ok "conffile removed on purge" || bad "conffile left after purge"
    [ ! -e /usr/sbin/hearsayd ] && ok "binaries removed" || bad "binaries left"
    [ ! -e /var/lib/hearsay ] && ok "state directory removed on purge" || bad "/var/lib/hearsay left"
fi
finish
