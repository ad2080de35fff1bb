#!/bin/bash
# Packaging test: builds the .deb and the .rpm into build/packages (or $1)
# and checks them. One "PASS:"/"FAIL:" line per check, then
# "N passed, N failed".
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:-$SRC/build/packages}")
cd "$SRC"
passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1: $2"; failed=$((failed + 1)); }
version=$(scripts/version.sh)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# 1. the .deb builds and lintian reports no error and no warning
if scripts/build-deb.sh "$OUT" >"$log" 2>&1; then
        pass "deb: dpkg-buildpackage and lintian --fail-on error,warning"
else
        fail "deb" "$(tail -5 "$log")"
fi
DEB=$OUT/sensord_${version}_$(dpkg --print-architecture).deb

# 2. the .rpm builds and rpmlint reports no error and no warning
if scripts/build-rpm.sh "$OUT" >"$log" 2>&1 && grep -q " 0 errors, 0 warnings" "$log"; then
        pass "rpm: rpmbuild, rpmlint with 0 errors and 0 warnings"
else
        fail "rpm" "$(tail -5 "$log")"
fi
RPM=$(ls "$OUT"/sensord-"$version"-*.rpm 2>/dev/null | head -n 1)

# 3. one version: meson.build's, in both packages and in every program
deb_version=$(dpkg-deb -f "$DEB" Version 2>/dev/null)
rpm_version=$(rpm -qp --qf '%{VERSION}' "$RPM" 2>/dev/null)
prog_version=$(build/src/sensord --version 2>/dev/null)
if [ "$deb_version" = "$version" ] && [ "$rpm_version" = "$version" ] && [ "$prog_version" = "sensord $version" ]; then
        pass "version $version in meson.build, the .deb, the .rpm and sensord --version"
else
        fail "version" "meson $version, deb '$deb_version', rpm '$rpm_version', sensord '$prog_version'"
fi

# 4. every file of the .deb is in the .rpm, with Debian's paths mapped to Fedora's
dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\.||' | grep -v '/$' | sort >"$log.deb"
rpm -qlp "$RPM" 2>/dev/null | sort >"$log.rpm"
missing=
while read -r path; do
        case "$path" in
        /lib/systemd/system/*) mapped=/usr$path ;; # Debian 12 keeps units in /lib
        /usr/share/doc/sensord/changelog.gz | /usr/share/doc/sensord/copyright) continue ;; # Debian's own files
        *) mapped=$path ;;
        esac
        grep -qx "$mapped" "$log.rpm" || missing="$missing $mapped"
done <"$log.deb"
if [ -z "$missing" ] && [ -s "$log.deb" ]; then
        pass "the .rpm holds all $(wc -l <"$log.deb") files of the .deb (units mapped to /usr/lib/systemd/system)"
else
        fail "file lists" "missing from the .rpm:$missing"
fi
grep -qx /usr/share/licenses/sensord/LICENSE "$log.rpm" || fail "file lists" "no license file in the .rpm"
rm -f "$log.deb" "$log.rpm"

# 5. the scriptlets are the systemd macros', and the config is %config(noreplace)
scripts=$(rpm -qp --scripts "$RPM" 2>/dev/null)
config=$(rpm -qp --configfiles "$RPM" 2>/dev/null)
if grep -q "systemd-update-helper install-system-units sensord.service" <<<"$scripts" &&
        grep -q "systemd-update-helper remove-system-units sensord.service" <<<"$scripts" &&
        grep -q "systemd-update-helper mark-restart-system-units sensord.service" <<<"$scripts" &&
        [ "$config" = /etc/sensord/sensord.conf ] &&
        rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$RPM" | grep -q '^cn /etc/sensord/sensord.conf$'; then
        pass "rpm scriptlets from %systemd_post/%systemd_preun/%systemd_postun_with_restart; sensord.conf %config(noreplace)"
else
        fail "rpm scriptlets" "$(head -c 300 <<<"$scripts") config: $config"
fi

# 6. both units lift journald's rate limit for sensord's rows (0 would mean
#    journald's default), and the .deb's maintainer scripts restart a running
#    sensord after an upgrade (not stop it in the preinst) and stop it on remove
x=$(mktemp -d)
dpkg-deb -x "$DEB" "$x/deb" && dpkg-deb -e "$DEB" "$x/deb/DEBIAN" && mkdir "$x/rpm" &&
        (cd "$x/rpm" && rpm2cpio "$RPM" | cpio -idm --quiet) 2>/dev/null
units_ok=yes
for unit in "$x/deb/lib/systemd/system/sensord.service" "$x/rpm/usr/lib/systemd/system/sensord.service"; do
        grep -qx "LogRateLimitIntervalSec=1s" "$unit" 2>/dev/null && grep -qx "LogRateLimitBurst=1000000" "$unit" ||
                units_ok="no: $unit"
done
if [ "$units_ok" != yes ]; then
        fail "journal rate limit" "$units_ok has no LogRateLimitIntervalSec=1s / LogRateLimitBurst=1000000"
elif ! grep -q "deb-systemd-invoke try-restart 'sensord.service'" "$x/deb/DEBIAN/postinst" ||
        ! grep -q 'deb-systemd-invoke stop sensord.service' "$x/deb/DEBIAN/prerm" ||
        grep -qs "deb-systemd-invoke stop" "$x/deb/DEBIAN/preinst"; then
        fail "deb maintainer scripts" "postinst/prerm/preinst: $(cat "$x/deb/DEBIAN/postinst" "$x/deb/DEBIAN/prerm" 2>&1 | head -c 400)"
else
        pass "both units set LogRateLimitIntervalSec=1s and LogRateLimitBurst=1000000; the .deb try-restarts on upgrade, stops on remove, never stops in preinst"
fi
rm -rf "$x"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
