#!/bin/bash
# Renders every built man page as man(1) would, with warnings on: any
# warning, or a page missing NAME or SYNOPSIS (or, for commands in sections
# 1 and 8, EXIT STATUS), fails.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: render.sh PAGE..." >&2; exit 2; }
status=0
for page in "$@"; do
        bad=0
        warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
        text=$(MANWIDTH=80 man -l "$page" 2>/dev/null)
        if [ -n "$warnings" ]; then
                echo "FAIL: $page: $warnings"
                bad=1
        fi
        sections=(NAME SYNOPSIS)
        case "$page" in *.1 | *.8) sections+=("EXIT STATUS") ;; esac
        for section in "${sections[@]}"; do
                grep -q "^$section" <<<"$text" || { echo "FAIL: $page has no $section section"; bad=1; }
        done
        [ "$bad" -ne 0 ] || echo "ok: $page"
        [ "$bad" -eq 0 ] || status=1
done
exit "$status"
