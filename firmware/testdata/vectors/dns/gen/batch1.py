import struct, sys
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("OUT", ".")
from pcapgen import *

P = Pcap()
CLI, SRV = "10.0.0.1", "10.0.0.53"
cases = {}
port = [20000]


def flow(label, msgs):
    """msgs: list of (to_server: bool, bytes)."""
    port[0] += 1
    cp = port[0]
    cases[cp] = label
    for ts, m in msgs:
        if ts:
            P.add(udp(CLI, cp, SRV, 53, m))
        else:
            P.add(udp(SRV, 53, CLI, cp, m))


A = lambda ip: bytes(int(x) for x in ip.split("."))

# 1 z flag in query + normal answer
flow("zflag_query", [(1, msg(1, 0x0140, [q("z.example")])), (0, msg(1, 0x8180, [q("z.example")], [rr("z.example", 1, A("1.2.3.4"))]))])
# 2 z flag in response
flow("zflag_resp", [(1, msg(2, 0x0100, [q("z2.example")])), (0, msg(2, 0x81c0, [q("z2.example")], [rr("z2.example", 1, A("1.2.3.4"))]))])
# 3 opcode 7 second query
flow("opcode7_second", [(1, msg(3, 0x0100, [q("a.example")])), (1, msg(4, 0x3900, [q("b.example")])), (0, msg(4, 0xb980, [q("b.example")]))])
# 4 opcode 6 query
flow("opcode6", [(1, msg(5, 0x3100, [q("op6.example")])), (0, msg(5, 0xb180, [q("op6.example")]))])
# 5 not a response (QR=0 to client)
flow("not_response", [(1, msg(6, 0x0100, [q("nr.example")])), (0, msg(6, 0x0180, [q("nr.example")], [rr("nr.example", 1, A("1.2.3.4"))]))])
# 6 not a request (QR=1 to server) after a query
flow("not_request", [(1, msg(7, 0x0100, [q("nq.example")])), (1, msg(8, 0x8100, [q("nq2.example")])), (0, msg(7, 0x8180, [q("nq.example")]))])
# 7 root name
flow("root", [(1, msg(9, 0x0100, [q("", 2)])), (0, msg(9, 0x8180, [q("", 2)], [rr("", 2, name("a.root-servers.net"))]))])
# 8 odd bytes in names
odd = [b"a.b", b"sp ace", b"nul\x00x", b"del\x7f", b"hi\xff", "\u00e9t\u00e9".encode(), b'q"u\\o', b"tab\tnl\n", b"UPPER"]
flow("odd_names", [(1, msg(10, 0x0100, [q(odd)])), (0, msg(10, 0x8180, [q(odd)], [rr(odd, 5, name(odd))]))])
# 9 name > 1025 via many 63-byte labels (17 labels * 64 = 1088)
long = [bytes([ord('a') + i % 26]) * 63 for i in range(17)]
flow("long_name", [(1, msg(11, 0x0100, [q(long)])), (0, msg(11, 0x8180, [q(long)], [rr(long, 1, A("1.2.3.4"))]))])
# 10 too many labels: 300 one-char labels (600 bytes)
many = [b"x"] * 300
flow("many_labels", [(1, msg(12, 0x0100, [q(many)])), (0, msg(12, 0x8180, [q(many)], [rr(many, 1, A("1.2.3.4"))]))])
# 11 compression loop in answer name: pointer to itself
qsec = q("loop.example")
ans_off = 12 + len(qsec)
loop_rr = struct.pack("!H", 0xC000 | ans_off) + struct.pack("!HHIH", 1, 1, 300, 4) + A("1.2.3.4")
flow("loop_answer", [(1, msg(13, 0x0100, [qsec])), (0, msg(13, 0x8180, [qsec], [loop_rr]))])
# 12 compression loop in query name
qloop = struct.pack("!H", 0xC00C) + struct.pack("!HH", 1, 1)
flow("loop_query", [(1, msg(14, 0x0100, [q("ok.example")])), (1, msg(15, 0x0100, [qloop]))])
# 13 zero questions query and response
flow("zero_q", [(1, msg(16, 0x0100, [])), (0, msg(16, 0x8180, [], [rr("x.example", 1, A("1.2.3.4"))]))])
# 14 two questions query and response
flow("two_q", [(1, msg(17, 0x0100, [q("one.example", 1), q("two.example", 28)])), (0, msg(17, 0x8180, [q("one.example", 1), q("two.example", 28)], [rr("one.example", 1, A("1.2.3.4"))]))])
# 15 rdata types
rd = [
    rr("t.example", 1, A("9.8.7.6")),
    rr("t.example", 1, b"\x01\x02\x03\x04\x05"),
    rr("t.example", 1, b""),
    rr("t.example", 28, bytes(range(16))),
    rr("t.example", 28, bytes(range(4))),
    rr("t.example", 5, name("cname.example")),
    rr("t.example", 2, name("ns.example")),
    rr("t.example", 12, name("ptr.example")),
    rr("t.example", 15, struct.pack("!H", 10) + name("mx.example")),
    rr("t.example", 16, b"\x05hello"),
    rr("t.example", 16, b"\x03one\x03two\x00"),
    rr("t.example", 10, b"\x00\x01bin\xff\xfe"),
    rr("t.example", 6, name("mname.example") + name("rname.example") + struct.pack("!IIIII", 1, 2, 3, 4, 5)),
    rr("t.example", 33, struct.pack("!HHH", 1, 2, 443) + name("srv.example")),
    rr("t.example", 44, b"\x01\x02" + bytes.fromhex("deadbeef00")),
    rr("t.example", 99, b"\x04spf1"),
    rr("t.example", 13, b"\x03cpu\x02os"),
    rr("t.example", 300, b"xyz"),
]
flow("rdata_types", [(1, msg(18, 0x0100, [q("t.example", 255)])), (0, msg(18, 0x8180, [q("t.example", 255)], rd))])
# 16 same rdata in authorities
flow("rdata_auth", [(1, msg(19, 0x0100, [q("t.example", 255)])), (0, msg(19, 0x8180, [q("t.example", 255)], [], rd))])
# 17 rcodes 0..15 (one flow each, small)
for rc in range(16):
    flow("rcode%d" % rc, [(1, msg(100 + rc, 0x0100, [q("rc.example")])), (0, msg(100 + rc, 0x8180 | rc, [q("rc.example")]))])
# 18 flags formatting: response with small flags (QR unset) tc aa
flow("flags_small", [(1, msg(20, 0x0100, [q("f.example")])), (0, msg(20, 0x0600, [q("f.example")]))])
flow("flags_tc", [(1, msg(21, 0x0100, [q("f.example")])), (0, msg(21, 0x8380, [q("f.example")]))])
# 19 empty TXT rdata and TXT with zero-length string
flow("txt_empty", [(1, msg(22, 0x0100, [q("e.example", 16)])), (0, msg(22, 0x8180, [q("e.example", 16)], [rr("e.example", 16, b"")]))])
flow("txt_zero", [(1, msg(23, 0x0100, [q("e.example", 16)])), (0, msg(23, 0x8180, [q("e.example", 16)], [rr("e.example", 16, b"\x00")]))])
flow("txt_overrun", [(1, msg(24, 0x0100, [q("e.example", 16)])), (0, msg(24, 0x8180, [q("e.example", 16)], [rr("e.example", 16, b"\x09abc")]))])
# 20 unknown type rdlength 0 and CNAME rdlength 0
flow("unknown_empty", [(1, msg(25, 0x0100, [q("u.example", 300)])), (0, msg(25, 0x8180, [q("u.example", 300)], [rr("u.example", 300, b"")]))])
flow("cname_empty", [(1, msg(26, 0x0100, [q("u.example", 5)])), (0, msg(26, 0x8180, [q("u.example", 5)], [rr("u.example", 5, b"")]))])
flow("null_empty", [(1, msg(27, 0x0100, [q("u.example", 10)])), (0, msg(27, 0x8180, [q("u.example", 10)], [rr("u.example", 10, b"")]))])
# 21 trailing garbage after message
flow("trailing", [(1, msg(28, 0x0100, [q("tr.example")]) + b"garbage"), (0, msg(28, 0x8180, [q("tr.example")]) + b"\x00\x01")])
# 22 answer count larger than present
flow("short_answers", [(1, msg(29, 0x0100, [q("sa.example")])), (0, msg(29, 0x8180, [q("sa.example")], [rr("sa.example", 1, A("1.2.3.4"))], counts=(1, 2, 0, 0)))])
# 23 rdlength beyond end
flow("rdlen_overrun", [(1, msg(30, 0x0100, [q("ro.example")])), (0, msg(30, 0x8180, [q("ro.example")], [rr("ro.example", 1, A("1.2.3.4"), rdlen=40)]))])
# 24 garbage additionals (count 1, bytes junk)
flow("bad_additional", [(1, msg(31, 0x0100, [q("ba.example")])), (0, msg(31, 0x8180, [q("ba.example")], [rr("ba.example", 1, A("1.2.3.4"))], counts=(1, 1, 0, 1)) + b"\xff\xff")])
# 25 bad authority
flow("bad_authority", [(1, msg(32, 0x0100, [q("bau.example")])), (0, msg(32, 0x8180, [q("bau.example")], [rr("bau.example", 1, A("1.2.3.4"))], counts=(1, 1, 1, 0)) + b"\xff\xff")])
# 26 response first (no query)
flow("response_first", [(0, msg(33, 0x8180, [q("rf.example")], [rr("rf.example", 1, A("1.2.3.4"))]))])
# 27 label with reserved bits 0x40
flow("label_0x40", [(1, msg(34, 0x0100, [q("ok.example")])), (1, msg(35, 0x0100, [b"\x41" + b"a" * 1 + b"\x00" + struct.pack("!HH", 1, 1)]))])
# 28 pointer to beyond message
flow("ptr_beyond", [(1, msg(36, 0x0100, [q("ok.example")])), (0, msg(36, 0x8180, [q("ok.example")], [b"\xc1\x00" + struct.pack("!HHIH", 1, 1, 300, 4) + A("1.2.3.4")]))])
# 29 forward pointer (valid, points later)
fwd_q = b"\xc0\x12" + struct.pack("!HH", 1, 1)  # name at offset 18
payload = hdr(37, 0x0100, 1) + fwd_q + name("fwd.example")
flow("fwd_ptr", [(1, payload)])
# 30 opcode 7 as first message
flow("opcode7_first", [(1, msg(38, 0x3900, [q("o7.example")])), (0, msg(38, 0xb980, [q("o7.example")]))])
# 31 header counts too large for length (first packet)
flow("counts_too_big", [(1, msg(39, 0x0100, [q("cb.example")], counts=(1, 0, 0, 200))), (0, msg(39, 0x8180, [q("cb.example")]))])
# 32 query with answers present (unusual)
flow("query_with_answer", [(1, msg(40, 0x0100, [q("qa.example")], [rr("qa.example", 1, A("1.2.3.4"))])), (0, msg(40, 0x8180, [q("qa.example")]))])
# 33 only header, 12 bytes
flow("only_header", [(1, msg(41, 0x0100, [])), (0, msg(41, 0x8180, []))])
# 34 short packet < 12
flow("short_pkt", [(1, b"\x00\x2a\x01\x00\x00\x01"), (0, b"\x00\x2a\x81\x80")])
# 35 many answers (70) all A
flow("many_answers", [(1, msg(42, 0x0100, [q("m.example")])), (0, msg(42, 0x8180, [q("m.example")], [rr(b"\xc0\x0c", 1, bytes([10, 0, i // 256, i % 256])) for i in range(70)]))])
# 36 mixed grouped order: A then CNAME then A
flow("grouped_order", [(1, msg(43, 0x0100, [q("g.example")])), (0, msg(43, 0x8180, [q("g.example")], [rr("g.example", 1, A("1.1.1.1")), rr("g.example", 5, name("c.example")), rr("c.example", 1, A("2.2.2.2")), rr("c.example", 2, name("ns.example")), rr("c.example", 12, name("p.example"))]))])
# 37 query class not IN and weird qtypes list handled in batch2
# 38 duplicate query ids answered twice
flow("two_answers_one_query", [(1, msg(44, 0x0100, [q("d.example")])), (0, msg(44, 0x8180, [q("d.example")])), (0, msg(44, 0x8180, [q("d.example")]))])
# 39 answer with question name via pointer into answer
flow("ptr_chain", [(1, msg(45, 0x0100, [q("www.chain.example")])), (0, msg(45, 0x8180, [q("www.chain.example")], [rr(b"\xc0\x0c", 5, b"\x03cdn" + b"\xc0\x10"), rr(b"\xc0\x2d", 1, A("3.3.3.3"))]))])

P.write(os.path.join(OUT, "batch1.pcap"))
import json
json.dump(cases, open(os.path.join(OUT, "batch1.cases.json"), "w"))
print(len(P.pkts), "packets")
