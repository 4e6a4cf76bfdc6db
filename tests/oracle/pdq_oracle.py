"""Reference oracle for the differential tests (run by tests/expected_hashes.rs).

Reads images from stdin, one after another: a header line `width height channels path`,
then width*height*channels raw bytes (hashmatch's decoded pixels). For each it prints one line:
`<pip pdqhash of those pixels> <quality> <pip pdqhash of Pillow's own decode of path> <quality>`,
i.e. pip `pdqhash` (Meta's C++ core, HMA's hasher) on identical pixels, and the full HMA
pipeline (Pillow `convert("RGB")` + pip `pdqhash`) on the file.
"""
import sys

import numpy as np
import pdqhash
from PIL import Image


def hex_of(bits):
    return "%064x" % int("".join(str(int(b)) for b in bits), 2)


def main():
    inp = sys.stdin.buffer
    out = sys.stdout
    while True:
        header = inp.readline()
        if not header:
            break
        w, h, c, path = header.decode().rstrip("\n").split(" ", 3)
        w, h, c = int(w), int(h), int(c)
        raw = inp.read(w * h * c)
        arr = np.frombuffer(raw, dtype=np.uint8).reshape(h, w, c)
        if c == 1:
            arr = np.repeat(arr, 3, axis=2)
        elif c == 4:
            arr = arr[:, :, :3]
        bits, q = pdqhash.compute(np.ascontiguousarray(arr))
        pil = np.asarray(Image.open(path).convert("RGB"))
        pbits, pq = pdqhash.compute(pil)
        out.write(f"{hex_of(bits)} {q} {hex_of(pbits)} {pq}\n")
        out.flush()


main()
