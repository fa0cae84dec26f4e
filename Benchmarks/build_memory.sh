#!/usr/bin/env bash
# Peak memory (maximum resident set, /usr/bin/time -f %M) of `semcom cache build`
# with 1 and 2 threads, on the bundled demo images and on images at the pixel
# limit (9459 x 9459 = 89.47 megapixels, just under PIL's 89,478,485): 8-bit
# and 16-bit PNGs, and baseline and progressive JPEGs with 4:2:0 and 4:4:4
# chroma (cjpeg, from Debian's libjpeg-turbo-progs, installed when missing). Each build reads COPIES images of one kind with the
# demo's edge model at batch 16, so every decoding thread meets the worst case.
#
#   Benchmarks/build_memory.sh SEMCOM [COPIES]
#
# SEMCOM: a release build (swift build -c release --product semcom). Run from the
# repository root. The README's "Bad input" bound comes from this script.
set -euo pipefail
semcom=$1 copies=${2:-4}
command -v cjpeg > /dev/null || { apt-get update > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libjpeg-turbo-progs > /dev/null; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
side=9459

# A smooth RGB pattern: small files, full decoding cost.
python3 - "$dir" "$side" <<'EOF'
import sys, zlib, struct
out, w = sys.argv[1], int(sys.argv[2])
pattern = bytes((3 * x // 7) & 255 for x in range(3 * (w + 256)))
rows = [pattern[3 * (y % 256):3 * (y % 256) + 3 * w] for y in range(256)]
with open(f"{out}/big.ppm", "wb") as f:
    f.write(b"P6 %d %d 255\n" % (w, w))
    for y in range(w):
        f.write(rows[y % 256])
z = zlib.compressobj(1)
idat = b"".join([z.compress(b"\0" + rows[y % 256]) for y in range(w)] + [z.flush()])
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
def png(name, depth, idat):
    with open(f"{out}/{name}", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, w, depth, 2, 0, 0, 0))
                + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
png("big.png", 8, idat)
z = zlib.compressobj(1)
wide = [bytes(b for v in row for b in (v, v)) for row in rows]  # 16-bit samples: each byte twice
png("big16.png", 16, b"".join([z.compress(b"\0" + wide[y % 256]) for y in range(w)] + [z.flush()]))
EOF
cjpeg -quality 90 "$dir/big.ppm" > "$dir/big.jpg"
cjpeg -quality 90 -progressive "$dir/big.ppm" > "$dir/big-progressive.jpg"
cjpeg -quality 90 -progressive -sample 1x1 "$dir/big.ppm" > "$dir/big-progressive444.jpg"
rm "$dir/big.ppm"

csv() {  # copies of one file, unlabelled
    local kind=$1 file=$2 i
    mkdir -p "$dir/$kind"
    echo "path,label" > "$dir/$kind.csv"
    for i in $(seq "$copies"); do
        ln -f "$file" "$dir/$kind/$i.${file##*.}"
        echo "$dir/$kind/$i.${file##*.}," >> "$dir/$kind.csv"
    done
}
csv png "$dir/big.png"
csv jpeg "$dir/big.jpg"
csv progressive "$dir/big-progressive.jpg"
csv png16 "$dir/big16.png"
csv progressive444 "$dir/big-progressive444.jpg"

echo "images of ${side} x ${side} pixels:"; (cd "$dir" && ls -l big*)
printf "%-15s %7s %14s %8s\n" images threads "peak RSS MiB" seconds
for kind in demo png png16 jpeg progressive progressive444; do
    source="$dir/$kind.csv"
    [ "$kind" = demo ] && source=Demo/digits/eval
    for threads in 1 2; do
        rm -f "$dir/c.h5"*
        start=$(date +%s.%N)
        kib=$(/usr/bin/time -f %M "$semcom" cache build --out "$dir/c.h5" --images "$source" --limit "$copies" --size 64 --crop-pct 1 \
              --model edge=auto:Demo/models/edge.safetensors --batch 16 --threads "$threads" --strict 2>&1 > /dev/null | tail -1)
        end=$(date +%s.%N)
        printf "%-15s %7d %14d %8.1f\n" "$kind" "$threads" $((kib / 1024)) "$(echo "$end - $start" | bc)"
    done
done
