"""Packs one Lambda binary into bootstrap.zip, smaller than cargo-lambda's own zip.

Usage: lambda_zip.py BINARY ZIP [--keep-unwind-tables] [--fast]

Two things, each measured in BENCHMARKS.md (issue 25):

  unwind tables  The binaries are built with panic = "abort": nothing ever unwinds, and the
                 DWARF unwind tables (.eh_frame, .eh_frame_hdr) serve only the backtrace a
                 panic prints when RUST_BACKTRACE is set, which in a stripped binary is a list
                 of bare addresses. rustc's -C force-unwind-tables=no does not remove them (std
                 and the fat-LTO module keep them), so they are zeroed here: the ELF layout stays
                 exactly as linked, the zeros cost nothing once deflated, and an unwinder that
                 looks finds no table (.eh_frame_hdr version 0) and stops; the panic itself
                 still prints its message and aborts as before.
  deflate        Zopfli (PyPI `zopfli`, one iteration) instead of zlib's level 6: the same
                 deflate format any unzip reads, a few percent smaller, at the cost of about a
                 minute of CPU per binary. --fast uses zlib level 9 instead.

The zip holds one entry, `bootstrap`, mode 0755, dated 1980-01-01 (so the same binary gives the
same zip), as the provided.al2023 runtime expects.
"""

import argparse
import struct
import sys
import zlib

UNWIND_SECTIONS = (b".eh_frame", b".eh_frame_hdr")


def sections(elf):
    """(name, offset, size, type) of every section of a 64-bit little-endian ELF file."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    headers = []
    for i in range(shnum):
        name, kind, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
        headers.append((name, kind, offset, size))
    names_offset = headers[shstrndx][2]
    result = []
    for name, kind, offset, size in headers:
        end = elf.index(b"\0", names_offset + name)
        result.append((bytes(elf[names_offset + name : end]), offset, size, kind))
    return result


def zero_unwind_tables(elf):
    """Zeroes .eh_frame and .eh_frame_hdr in place; returns how many bytes were zeroed."""
    zeroed = 0
    for name, offset, size, kind in sections(elf):
        if name in UNWIND_SECTIONS and kind == 1 and size:  # SHT_PROGBITS: bytes in the file
            elf[offset : offset + size] = bytes(size)
            zeroed += size
    return zeroed


def deflate(data, fast):
    if fast:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        return packer.compress(data) + packer.flush()
    import zopfli.zopfli  # noqa: PLC0415 (only needed without --fast)

    # A zlib stream: 2-byte header, raw deflate, 4-byte Adler-32.
    return zopfli.zopfli.compress(bytes(data), numiterations=1)[2:-4]


def write_zip(path, data, packed):
    name = b"bootstrap"
    crc = zlib.crc32(data)
    dos_time, dos_date = 0, (1980 - 1980) << 9 | 1 << 5 | 1  # 1980-01-01 00:00
    common = struct.pack("<HHHHIII", 0, 8, dos_time, dos_date, crc, len(packed), len(data))
    local = struct.pack("<IH", 0x04034B50, 20) + common + struct.pack("<HH", len(name), 0) + name
    central = (
        struct.pack("<IHH", 0x02014B50, 3 << 8 | 20, 20)
        + common
        + struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0o100755 << 16, 0)
        + name
    )
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(packed), 0)
    with open(path, "wb") as out:
        out.write(local + packed + central + end)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("zip")
    parser.add_argument("--keep-unwind-tables", action="store_true")
    parser.add_argument("--fast", action="store_true", help="zlib level 9 instead of Zopfli")
    args = parser.parse_args()
    with open(args.binary, "rb") as f:
        elf = bytearray(f.read())
    if not args.keep_unwind_tables and not zero_unwind_tables(elf):
        sys.exit(f"lambda_zip: {args.binary} has no unwind tables to zero; is it an ELF binary?")
    write_zip(args.zip, elf, deflate(elf, args.fast))


if __name__ == "__main__":
    main()
