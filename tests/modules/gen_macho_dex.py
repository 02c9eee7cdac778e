#!/usr/bin/env python3
"""gen_macho_dex.py OUTDIR - write small synthetic Mach-O (thin 32/64, both byte orders, fat
32/64) and DEX files for the macho / dex differential tests (macho_compare.sh, dex_compare.sh).
Files are named macho-*.bin and dex-*.dex. Deterministic."""
import os
import struct
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

LC_SEGMENT, LC_SEGMENT_64, LC_UNIXTHREAD, LC_MAIN = 0x1, 0x19, 0x5, 0x80000028
THREAD = {  # cputype: (state size, pc offset, 64-bit)
    0x6: (72, 68, 0), 0xd: (136, 124, 0), 0xe: (76, 4, 0), 0x12: (160, 0, 0), 0x7: (64, 40, 0),
    0xc: (68, 60, 0), 0x01000007: (168, 128, 1), 0x0100000c: (272, 256, 1),
    0x01000012: (304, 0, 1)}


def thin(b64, be, cpu, entry='main', nsegs=2, nsects=2, pad=256, extra=b''):
    e = '>' if be else '<'
    cmds = []
    fileoff = 0x1000
    for s in range(nsegs):
        name = [b'__TEXT', b'__DATA', b'__LINKEDIT'][s % 3]
        secs = b''
        for j in range(nsects):
            sn = [b'__text', b'__cstring', b'__const'][j % 3]
            if b64:
                secs += struct.pack(e + '16s16sQQIIIIIIII', sn, name, 0x100000000 + 0x1000 * s + j * 16,
                                    16, fileoff + j * 16, 4, 0, 0, 0x80000400, 0, 0, 0)
            else:
                secs += struct.pack(e + '16s16sIIIIIIIII', sn, name, 0x1000 * s + j * 16, 16,
                                    fileoff + j * 16, 4, 0, 0, 0x80000400, 0, 0)
        if b64:
            hdr = struct.pack(e + 'II16sQQQQIIII', LC_SEGMENT_64, 72 + len(secs), name,
                              0x100000000 + 0x1000 * s, 0x1000, 0x1000 * s, 0x1000, 7, 5, nsects, 0)
        else:
            hdr = struct.pack(e + 'II16sIIIIIIII', LC_SEGMENT, 56 + len(secs), name, 0x1000 * s,
                              0x1000, 0x1000 * s, 0x1000, 7, 5, nsects, 0)
        cmds.append(hdr + secs)
    if entry == 'main':
        cmds.append(struct.pack(e + 'IIQQ', LC_MAIN, 24, 0x1234, 0x8000))
    elif entry == 'thread':
        size, pc, is64 = THREAD.get(cpu, (64, 40, 0))
        state = bytearray(size)
        addr = (0x100000000 if b64 else 0) + 0x1010
        struct.pack_into(e + ('Q' if is64 else 'I'), state, pc, addr)
        cmds.append(struct.pack(e + 'IIII', LC_UNIXTHREAD, 16 + size, 1, size // 4) + bytes(state))
    cmds.append(extra) if extra else None
    body = b''.join(cmds)
    magic = 0xfeedfacf if b64 else 0xfeedface
    h = struct.pack(e + 'IIIIIII', magic, cpu, 3, 2, len(cmds), len(body), 0x200085)
    if b64:
        h += struct.pack(e + 'I', 0)
    return h + body + bytes(pad)


def fat(slices, b64=False):
    hdr = struct.pack('>II', 0xcafebabf if b64 else 0xcafebabe, len(slices))
    asz = 32 if b64 else 20
    off = 0x1000
    archs, blobs = b'', b''
    base = len(hdr) + asz * len(slices)
    pos = off
    data = bytearray()
    for cpu, sub, blob in slices:
        if b64:
            archs += struct.pack('>IIQQII', cpu, sub, pos, len(blob), 12, 0)
        else:
            archs += struct.pack('>IIIII', cpu, sub, pos, len(blob), 12)
        data += blob
        pos += len(blob)
        pos = (pos + 0xfff) & ~0xfff
        data += bytes((pos - off) - len(data))
    head = hdr + archs
    return head + bytes(off - len(head)) + bytes(data)


files = {}
for b64 in (0, 1):
    for be in (0, 1):
        for entry in ('main', 'thread', 'none'):
            cpu = 0x01000007 if b64 else 0x7
            files['macho-%d-%s-%s.bin' % (64 if b64 else 32, 'be' if be else 'le', entry)] = \
                thin(b64, be, cpu, entry)
for cpu in THREAD:
    b64 = THREAD[cpu][2]
    files['macho-thread-%x.bin' % cpu] = thin(b64, cpu in (0x12, 0x01000012, 0xe, 0x6, 0xd), cpu, 'thread')
files['macho-noseg.bin'] = thin(1, 0, 0x01000007, 'main', nsegs=0)
files['macho-manysect.bin'] = thin(1, 0, 0x01000007, 'main', nsegs=3, nsects=7)
files['macho-short.bin'] = thin(0, 0, 7, 'main')[:31]
files['macho-hdr-only.bin'] = thin(0, 0, 7, 'main')[:40]
a = thin(1, 0, 0x01000007, 'main')
b = thin(1, 0, 0x0100000c, 'thread')
c = thin(0, 1, 0x12, 'thread')
files['macho-fat32.bin'] = fat([(0x01000007, 3, a), (0x0100000c, 0, b), (0x12, 0, c)])
files['macho-fat64.bin'] = fat([(0x01000007, 3, a), (0x0100000c, 0, b)], b64=True)
files['macho-fat-tiny.bin'] = fat([(0x7, 3, b'\xce\xfa\xed\xfe' + bytes(8)), (0x01000007, 3, a)])
f = bytearray(files['macho-fat32.bin'])
struct.pack_into('>I', f, 8 + 8, 0x7fffffff)       # first arch offset out of the file
files['macho-fat-badoff.bin'] = bytes(f)
files['macho-fat-count.bin'] = struct.pack('>II', 0xcafebabe, 1000) + bytes(64)


def uleb(v):
    r = b''
    while True:
        c = v & 0x7f
        v >>= 7
        if v:
            r += bytes([c | 0x80])
        else:
            return r + bytes([c])


def dex(version=b'035', nclasses=2, long_string=False):
    strings = [b'<init>', b'LMain;', b'Ljava/lang/Object;', b'V', b'main', b'onCreate', b'I',
               b'count', b'LOther;', b'run']
    if long_string:
        strings.append(b'x' * 200)
    types = [1, 2, 3, 6, 8]           # string indexes
    protos = [(3, 2, 0), (6, 4, 0)]   # shorty, return type, params
    fields = [(0, 4, 7), (3, 4, 7)]   # class, type, name
    methods = [(0, 0, 0), (0, 0, 4), (0, 1, 5), (3, 0, 9)]
    hsz = 0x70
    off = hsz
    str_ids_off = off; off += 4 * len(strings)
    type_off = off; off += 4 * len(types)
    proto_off = off; off += 12 * len(protos)
    field_off = off; off += 8 * len(fields)
    meth_off = off; off += 8 * len(methods)
    class_off = off; off += 32 * nclasses
    data = bytearray()
    data_off = off
    sdo = []
    for s in strings:
        sdo.append(data_off + len(data))
        data += uleb(len(s)) + s + b'\0'
    while len(data) % 4:
        data += b'\0'
    code_off = data_off + len(data)
    data += struct.pack('<HHHHII', 2, 1, 1, 0, 0, 3) + b'\x0e\x00\x00\x00\x00\x00'
    while len(data) % 4:
        data += b'\0'
    cd = []
    for k in range(nclasses):
        cd.append(data_off + len(data))
        data += uleb(1) + uleb(1) + uleb(2) + uleb(1)
        data += uleb(0) + uleb(0x9)                     # static field 0
        data += uleb(1) + uleb(0x1)                     # instance field 1
        data += uleb(0) + uleb(0x10001) + uleb(code_off)  # direct <init>
        data += uleb(1) + uleb(0x9) + uleb(0)           # direct main
        data += uleb(2) + uleb(0x1) + uleb(code_off)    # virtual onCreate
    while len(data) % 4:
        data += b'\0'
    map_off = data_off + len(data)
    items = [(0, 0, 1, 0), (1, 0, len(strings), str_ids_off), (2, 0, len(types), type_off),
             (0x1000, 0, 1, map_off)]
    data += struct.pack('<I', len(items)) + b''.join(struct.pack('<HHII', *i) for i in items)
    body = bytearray()
    body += b''.join(struct.pack('<I', o) for o in sdo)
    body += b''.join(struct.pack('<I', t) for t in types)
    body += b''.join(struct.pack('<III', *p) for p in protos)
    body += b''.join(struct.pack('<HHI', *f) for f in fields)
    body += b''.join(struct.pack('<HHI', *m) for m in methods)
    for k in range(nclasses):
        body += struct.pack('<IIIIIIII', k % 2, 1, 1, 0, 0xffffffff, 0, cd[k], 0)
    total = hsz + len(body) + len(data)
    h = b'dex\n' + version + b'\0' + struct.pack('<I', 0xdeadbeef) + bytes(range(1, 21))
    h += struct.pack('<IIIIII', total, hsz, 0x12345678, 0, 0, map_off)
    h += struct.pack('<II', len(strings), str_ids_off) + struct.pack('<II', len(types), type_off)
    h += struct.pack('<II', len(protos), proto_off) + struct.pack('<II', len(fields), field_off)
    h += struct.pack('<II', len(methods), meth_off) + struct.pack('<II', nclasses, class_off)
    h += struct.pack('<II', len(data), data_off)
    assert len(h) == hsz
    return bytes(h + body + data)


for v in (b'035', b'036', b'037', b'038', b'039'):
    files['dex-%s.dex' % v.decode()] = dex(v)
files['dex-long.dex'] = dex(long_string=True)
files['dex-1class.dex'] = dex(nclasses=1)
d = dex()
files['dex-short.dex'] = d[:0x6f]
files['dex-hdr.dex'] = d[:0x70]
files['dex-trunc.dex'] = d[:len(d) - 40]
files['dex-badmagic.dex'] = b'dex\n040\0' + d[8:]
x = bytearray(d)
struct.pack_into('<I', x, 64, 0x100000)        # type_ids_size too big
files['dex-badtypes.dex'] = bytes(x)
x = bytearray(d)
struct.pack_into('<I', x, 0x70 + 0, 0xfffff0)  # first string offset out of the file
files['dex-badstr.dex'] = bytes(x)
for name, blob in files.items():
    with open(os.path.join(out, name), 'wb') as fh:
        fh.write(blob)
print(len(files))
