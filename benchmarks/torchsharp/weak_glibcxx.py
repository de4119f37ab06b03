#!/usr/bin/python3
"""Marks a shared library's need of one symbol version weak (VER_FLG_WEAK in .gnu.version_r), in place.

    weak_glibcxx.py LIBRARY [VERSION]      (VERSION defaults to GLIBCXX_3.4.32)

TorchSharp 0.107's libLibTorchSharp.so asks for GLIBCXX_3.4.32, which Debian 12's libstdc++ (GCC 12) does not have,
although the only thing it takes from that version is a tag. With the need marked weak, the dynamic loader accepts the
older libstdc++. Only the copy in a build output is changed; nothing on the system.
"""
import struct
import sys

SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def main(path, version="GLIBCXX_3.4.32"):
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            sys.exit(f"{path}: not a 64-bit little-endian ELF file")
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        marked = 0
        for _, sh_type, _, _, offset, _, link, count, _, _ in sections:
            if sh_type != SHT_GNU_VERNEED:
                continue
            strings = sections[link][4]
            entry = offset
            for _ in range(count):
                _, aux_count, _, aux, following = struct.unpack_from("<HHIII", data, entry)
                at = entry + aux
                for _ in range(aux_count):
                    _, flags, _, name, aux_next = struct.unpack_from("<IHHII", data, at)
                    end = data.index(b"\0", strings + name)
                    if data[strings + name:end].decode() == version and not flags & VER_FLG_WEAK:
                        struct.pack_into("<H", data, at + 4, flags | VER_FLG_WEAK)
                        marked += 1
                    at += aux_next
                entry += following
        f.seek(0)
        f.write(data)
    print(f"{path}: {version} marked weak in {marked} place(s)")


if __name__ == "__main__":
    main(*sys.argv[1:])
