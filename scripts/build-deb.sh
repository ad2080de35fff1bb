#!/bin/bash
# Builds the .deb: copies the tracked source tree to a scratch directory,
# puts packaging/debian in place as debian/ (with a changelog whose version
# is meson.build's), runs dpkg-buildpackage -us -uc -b, and leaves the .deb,
# .changes and .buildinfo in build/packages (or $1). Then runs lintian.
#   scripts/build-deb.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build/packages}")
version=$(scripts/version.sh)
[ -n "$version" ] || { echo "no version in meson.build" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$work/sensord-$version
mkdir -p "$src" "$out"
git ls-files -z | grep -zv '^packaging/debian/' | tar --null -T - -cf - | tar -xf - -C "$src"
cp -r packaging/debian "$src/debian"
sed -e "s/@VERSION@/$version/g" -e "s/@DATE@/$(date -R -d "@$(git log -1 --format=%ct)")/" \
        "$src/debian/changelog.in" >"$src/debian/changelog"
rm "$src/debian/changelog.in"

(cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }
rm -f "$out"/sensord_* "$out"/sensord-dbgsym_*
mv "$work"/sensord_"$version"_* "$work"/sensord-dbgsym_"$version"_* "$out"/
ls "$out"/sensord_"$version"_*
lintian --fail-on error,warning "$out"/sensord_"$version"_*.changes
