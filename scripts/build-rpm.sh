#!/bin/bash
# Builds the .rpm from packaging/rpm/sensord.spec on this (Debian) machine:
# a source tarball of the tracked tree, then rpmbuild -bb --nodeps (Debian's
# rpm database knows none of the build dependencies) with Fedora's meson and
# systemd macros from packaging/rpm/macros.fedora-compat. The spec's Version
# must be meson.build's. Leaves the .rpm in build/packages (or $1) and runs
# rpmlint on the spec and the package. RPM_DIST (for example .upgrade1)
# sets %{dist}, so the release becomes 1.upgrade1: a higher one, for the
# system test's upgrade.
#   [RPM_DIST=.SUFFIX] scripts/build-rpm.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build/packages}")
version=$(scripts/version.sh)
spec_version=$(sed -n 's/^Version: *//p' packaging/rpm/sensord.spec)
[ "$version" = "$spec_version" ] || { echo "sensord.spec has Version $spec_version, meson.build $version" >&2; exit 1; }

top=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$top"' EXIT
mkdir -p "$top"/{SOURCES,SPECS,BUILD,RPMS,SRPMS} "$out"
git ls-files -z | tar --null -T - --transform "s,^,sensord-$version/," -cJf "$top/SOURCES/sensord-$version.tar.xz"
cp packaging/rpm/sensord.spec "$top/SPECS/"
rpmbuild -bb --nodeps --define "_topdir $top" ${RPM_DIST:+--define "dist $RPM_DIST"} \
        --load packaging/rpm/macros.fedora-compat \
        "$top/SPECS/sensord.spec" >"$top/build.log" 2>&1 || { tail -40 "$top/build.log" >&2; exit 1; }
rm -f "$out"/sensord-*.rpm
find "$top/RPMS" -name "sensord-$version-*.rpm" ! -name '*debug*' -exec mv {} "$out"/ \;
ls "$out"/sensord-"$version"-*.rpm
# (RPM_DIST's test build: its %changelog names the release without the suffix)
[ -z "${RPM_DIST:-}" ] || exit 0
rpmlint -c packaging/rpm/rpmlint.toml packaging/rpm/sensord.spec "$out"/sensord-"$version"-*.rpm
