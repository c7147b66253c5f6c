"""Replays what a program wrote to a terminal of COLUMNS columns through a VT100 emulator
(pyte) and prints every row it ever showed, one per line, so a test can check that no bar
wrapped. Rows are sampled after every write of 64 bytes or less, and at the end.

usage: screen.py COLUMNS FILE
"""

import sys

import pyte


def main() -> int:
    columns, path = int(sys.argv[1]), sys.argv[2]
    screen = pyte.Screen(columns, 50)
    stream = pyte.ByteStream(screen)
    data = open(path, "rb").read()
    seen = []
    for start in range(0, len(data), 64):
        stream.feed(data[start:start + 64])
        for row in screen.display:
            row = row.rstrip()
            if row and (not seen or seen[-1] != row):
                seen.append(row)
    for row in seen:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
