#!/bin/sh
# tests/report_browser.sh — loads a report page (made by report_sample,
# given as $1) in Debian's chromium, headless: the screenshot must be a PNG
# of the window's size that is not blank (many colours, not mostly one),
# and the DOM must hold the charts' <svg> elements with their lines.
# Chromium starts twice (screenshot, then --dump-dom). Exits 77 (skipped)
# without chromium or python3; tools/deps.sh installs both.
set -eu
sample=$1
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "skipped: no chromium (Debian: apt-get install chromium; tools/deps.sh does)"
  exit 77
fi
command -v python3 >/dev/null || { echo "skipped: no python3"; exit 77; }
dir=$(mktemp -d /tmp/fl-report-browser.XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$sample" "$dir/page.html"
flags="--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
       --user-data-dir=$dir/profile --disable-extensions --disable-dev-shm-usage"
# shellcheck disable=SC2086
timeout 40 "$chromium" $flags --screenshot="$dir/out.png" --window-size=1200,2000 \
  "file://$dir/page.html" >"$dir/shot.log" 2>&1 || { cat "$dir/shot.log"; exit 1; }
# shellcheck disable=SC2086
timeout 40 "$chromium" $flags --dump-dom "file://$dir/page.html" >"$dir/dom.html" \
  2>"$dir/dom.log" || { cat "$dir/dom.log"; exit 1; }
python3 - "$dir/out.png" "$dir/dom.html" <<'PY'
import re, struct, sys, zlib

png, dom = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
data = open(png, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
pos, chunks = 8, []
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    chunks.append((kind, data[pos + 8:pos + 8 + n]))
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
assert (w, h) == (1200, 2000), f"screenshot is {w}x{h}, not 1200x2000"
assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
raw = zlib.decompress(b"".join(c for k, c in chunks if k == b"IDAT"))
bpp = 3 if ctype == 2 else 4
stride = w * bpp
prev = bytearray(stride)
colours = {}
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    if y % 4 == 0:  # every fourth row is plenty to count colours
        for x in range(0, stride, bpp * 2):
            px = bytes(line[x:x + 3])
            colours[px] = colours.get(px, 0) + 1
total = sum(colours.values())
top = max(colours.values())
print(f"screenshot {w}x{h}: {len(colours)} colours, the commonest {100 * top / total:.1f}%")
assert len(colours) >= 20, "the screenshot is nearly blank"
assert top / total < 0.97, "the screenshot is one colour"

svgs = re.findall(r"<svg\b", dom)
lines = re.findall(r"<polyline\b", dom)
paths = re.findall(r"<path\b", dom)
ids = set(re.findall(r'<svg[^>]*\bid="([^"]+)"', dom))
print(f"DOM: {len(svgs)} <svg>, {len(lines)} <polyline>, {len(paths)} <path>, ids {sorted(ids)}")
for want in ("loss-chart", "accuracy-chart", "lr-chart", "probe-loss-1", "probe-acc-1"):
    assert want in ids, f"no <svg id={want}> in the DOM"
assert len(lines) >= 5, "the curves are missing"
assert paths, "no <path> (crosses, ticks)"
assert not re.search(r"<script>alert", dom), "the hostile name became a script"
print("ok")
PY
