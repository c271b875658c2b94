# SPDX-License-Identifier: GPL-2.0-only
"""Check that stdin is a sequence of JSON documents (one document, or JSON
lines), with the standard library's strict parser.  Prints the number of
documents; exits 1 with the reason when a byte is not valid UTF-8 or a
document does not parse.  Usage: /usr/bin/python3 tests/lib/json_valid.py"""
import json
import sys

data = sys.stdin.buffer.read()
try:
    text = data.decode("utf-8")
except UnicodeDecodeError as e:
    print(f"not UTF-8: {e}", file=sys.stderr)
    sys.exit(1)
dec = json.JSONDecoder(strict=True)
i, n = 0, 0
while True:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    if i == len(text):
        break
    try:
        _, i = dec.raw_decode(text, i)
    except json.JSONDecodeError as e:
        print(f"document {n + 1}: {e}: {text[max(0, e.pos - 40):e.pos + 40]!r}",
              file=sys.stderr)
        sys.exit(1)
    n += 1
print(n)
