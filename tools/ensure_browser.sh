#!/bin/sh
# Make sure headless Chromium and its WebDriver are here for the real-browser tests.
# Both on PATH: nothing to do. Otherwise, as root with apt-get (Debian), install Debian's
# chromium, chromium-driver and fonts-noto-cjk (Chinese glyphs). Otherwise say that the browser
# tests will be skipped. Never fails the build: tests/browser.py skips them when still missing.
# Usage: sh tools/ensure_browser.sh
set -u

have_browser() {
    { command -v chromium || command -v chromium-browser; } >/dev/null 2>&1 \
        && command -v chromedriver >/dev/null 2>&1
}

have_browser && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure_browser: installing Debian's chromium, chromium-driver and fonts-noto-cjk for the browser tests" >&2
    log=$(mktemp)
    if apt-get update -qq >"$log" 2>&1 \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk \
            >>"$log" 2>&1 \
        && have_browser; then
        rm -f "$log"
        exit 0
    fi
    echo "ensure_browser: installing them failed; browser tests will be skipped. Last lines of apt-get:" >&2
    tail -n 5 "$log" >&2
    rm -f "$log"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    why="not root"
else
    why="no apt-get"
fi
echo "ensure_browser: chromium or chromedriver not on PATH and cannot install them ($why); browser tests will be skipped (Debian: apt-get install chromium chromium-driver fonts-noto-cjk)" >&2
exit 0
