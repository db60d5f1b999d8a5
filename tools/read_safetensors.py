#!/usr/bin/env python3
"""tools/read_safetensors.py — check a .safetensors file against the format's
layout rules and print its tensors; plain Python 3, no third-party modules.

It stands in for the `safetensors` package (not installable everywhere) when
checking flatline's exports, and is written from the format's specification,
not from flatline's writer:

  8 bytes      N, unsigned little-endian 64-bit: the header's size
  N bytes      JSON object, UTF-8, starting with '{', may be padded at the
               end with spaces; keys are tensor names (unique) and the
               optional "__metadata__" (a string -> string map); each tensor
               is {"dtype": D, "shape": [..], "data_offsets": [begin, end]}
  rest         the data section: offsets [begin, end) are relative to its
               start; tensors may not overlap and together must cover it
               exactly (no holes, nothing after the last one)

Usage: read_safetensors.py [-n COUNT | --all] FILE
Prints "# metadata: {...}" and then one line per tensor, in data order:
  NAME DTYPE [d0,d1,...] v0 v1 ...
with the first COUNT values (default 8; F32/F64/integer/BOOL dtypes; floats
printed with repr, which round-trips exactly). Exits 0 if the file is valid,
1 on the first violation (explained on stderr), 2 on bad usage.
"""

import json
import math
import os
import struct
import sys

# Element sizes in bytes, and struct codes for the dtypes whose values we print.
DTYPES = {
    "BOOL": (1, "?"), "U8": (1, "B"), "I8": (1, "b"),
    "F8_E4M3": (1, None), "F8_E5M2": (1, None),
    "U16": (2, "H"), "I16": (2, "h"), "F16": (2, "e"), "BF16": (2, None),
    "U32": (4, "I"), "I32": (4, "i"), "F32": (4, "f"),
    "U64": (8, "Q"), "I64": (8, "q"), "F64": (8, "d"),
}
MAX_HEADER = 100 * 1024 * 1024  # the reference implementation's limit


class Invalid(Exception):
    pass


def no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise Invalid("header has the key %r twice" % key)
        obj[key] = value
    return obj


def no_constants(name):
    raise Invalid("header has %s, which is not JSON" % name)


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def parse(blob):
    """Returns (metadata, [(name, dtype, shape, begin, end)] in data order,
    data section start)."""
    if len(blob) < 8:
        raise Invalid("file is %d bytes, shorter than the 8-byte header "
                      "length" % len(blob))
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER:
        raise Invalid("header length %d exceeds %d bytes" % (n, MAX_HEADER))
    if 8 + n > len(blob):
        raise Invalid("header length %d runs past the end of the %d-byte "
                      "file" % (n, len(blob)))
    raw = blob[8:8 + n]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Invalid("header is not UTF-8: %s" % e)
    if not text.startswith("{"):
        raise Invalid("header does not start with '{'")
    body = text.rstrip(" ")
    if not body.endswith("}"):
        raise Invalid("header has something other than spaces after the "
                      "JSON object")
    try:
        header = json.loads(body, object_pairs_hook=no_duplicates,
                            parse_constant=no_constants)
    except ValueError as e:
        raise Invalid("header is not valid JSON: %s" % e)
    if not isinstance(header, dict):
        raise Invalid("header is not a JSON object")

    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str)
                for k, v in metadata.items()):
            raise Invalid("__metadata__ must map strings to strings")

    data_start = 8 + n
    data_len = len(blob) - data_start
    tensors = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise Invalid("tensor %r is not a JSON object" % name)
        keys = set(info)
        if keys != {"dtype", "shape", "data_offsets"}:
            raise Invalid("tensor %r has keys %s; expected dtype, shape, "
                          "data_offsets" % (name, sorted(keys)))
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            raise Invalid("tensor %r has unknown dtype %r" % (name, dtype))
        if not isinstance(shape, list) or not all(is_uint(d) for d in shape):
            raise Invalid("tensor %r: shape must be a list of non-negative "
                          "integers, got %r" % (name, shape))
        if (not isinstance(offsets, list) or len(offsets) != 2 or
                not all(is_uint(o) for o in offsets)):
            raise Invalid("tensor %r: data_offsets must be two non-negative "
                          "integers, got %r" % (name, offsets))
        begin, end = offsets
        if begin > end:
            raise Invalid("tensor %r: data_offsets %r run backwards"
                          % (name, offsets))
        want = math.prod(shape) * DTYPES[dtype][0]
        if end - begin != want:
            raise Invalid("tensor %r: shape %r of %s needs %d bytes but "
                          "data_offsets %r span %d" % (name, shape, dtype,
                                                       want, offsets,
                                                       end - begin))
        tensors.append((name, dtype, shape, begin, end))

    tensors.sort(key=lambda x: (x[3], x[4]))
    pos = 0
    for name, _, _, begin, end in tensors:
        if begin < pos:
            raise Invalid("tensor %r at [%d, %d) overlaps the previous one "
                          "(which ends at %d)" % (name, begin, end, pos))
        if begin > pos:
            raise Invalid("hole in the data section: bytes [%d, %d) belong "
                          "to no tensor (next: %r)" % (pos, begin, name))
        pos = end
    if pos != data_len:
        raise Invalid("data section is %d bytes but the tensors cover %d"
                      % (data_len, pos))
    return metadata, tensors, data_start


def values(blob, data_start, dtype, begin, end, count):
    size, code = DTYPES[dtype]
    if code is None:
        return []
    n = (end - begin) // size
    if count is not None:
        n = min(n, count)
    return list(struct.unpack_from("<%d%s" % (n, code), blob,
                                   data_start + begin))


def main(argv):
    count, path, args = 8, None, argv[1:]
    try:
        while args:
            a = args.pop(0)
            if a == "--all":
                count = None
            elif a == "-n":
                count = int(args.pop(0))
                if count < 0:
                    raise ValueError
            elif path is None and not a.startswith("-"):
                path = a
            else:
                raise ValueError
        if path is None:
            raise ValueError
    except (ValueError, IndexError):
        sys.stderr.write("usage: %s [-n COUNT | --all] FILE\n"
                         % os.path.basename(argv[0]))
        return 2
    try:
        with open(path, "rb") as f:
            blob = f.read()
        metadata, tensors, data_start = parse(blob)
    except OSError as e:
        sys.stderr.write("%s: %s\n" % (path, e.strerror or e))
        return 1
    except Invalid as e:
        sys.stderr.write("%s: invalid safetensors: %s\n" % (path, e))
        return 1
    out = sys.stdout
    out.write("# metadata: %s\n" % json.dumps(metadata, sort_keys=True))
    for name, dtype, shape, begin, end in tensors:
        vals = values(blob, data_start, dtype, begin, end, count)
        out.write("%s %s %s%s\n" % (
            name, dtype, json.dumps(shape, separators=(",", ":")),
            "".join(" " + repr(v) for v in vals)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
