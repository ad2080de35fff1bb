#!/bin/bash
# Prints the project's one version number, the one set in meson.build.
sed -n "s/^  version: '\(.*\)',$/\1/p" "$(dirname "$0")/../meson.build"
