import struct, sys, json, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("OUT", ".")
from pcapgen import *

P = Pcap()
CLI, SRV = "10.0.0.1", "10.0.0.53"
cases = {}
port = [30000]


def flow(label, msgs):
    port[0] += 1
    cp = port[0]
    cases[cp] = label
    for ts, m in msgs:
        if ts:
            P.add(udp(CLI, cp, SRV, 53, m))
        else:
            P.add(udp(SRV, 53, CLI, cp, m))
    return cp


A = lambda ip: bytes(int(x) for x in ip.split("."))

# 1 qtype names
types = list(range(0, 300)) + [32768, 32769, 65280, 65534, 65535]
flow("qtypes", [(1, msg(1, 0x0100, [q("t%d.example" % t, t) for t in types]))])


def one(label, rdata_rr, qtype=1):
    flow(label, [(1, msg(2, 0x0100, [q("r.example", qtype)])), (0, msg(2, 0x8180, [q("r.example", qtype)], [rdata_rr]))])


one("A5", rr("r.example", 1, b"\x01\x02\x03\x04\x05"))
one("A3", rr("r.example", 1, b"\x01\x02\x03"))
one("A0", rr("r.example", 1, b""))
one("AAAA4", rr("r.example", 28, b"\x01\x02\x03\x04"))
one("AAAA16", rr("r.example", 28, bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1])))
one("SSHFP", rr("r.example", 44, b"\x01\x02" + bytes.fromhex("deadbeef00ff")))
one("SSHFP2", rr("r.example", 44, b"\x01\x02"))
one("SSHFP1", rr("r.example", 44, b"\x01"))
one("SRV", rr("r.example", 33, struct.pack("!HHH", 1, 2, 443) + name("srv.example")))
one("SRV_short", rr("r.example", 33, struct.pack("!HH", 1, 2)))
one("SOA", rr("r.example", 6, name("mname.example") + name("rname.example") + struct.pack("!IIIII", 1, 2, 3, 4, 5)))
one("SOA_short", rr("r.example", 6, name("mname.example") + name("rname.example") + struct.pack("!III", 1, 2, 3)))
one("NULL", rr("r.example", 10, b"\x00\x01bin\xff\xfe"))
one("NULL_utf8", rr("r.example", 10, "h\u00e9llo\x01".encode()))
one("HINFO", rr("r.example", 13, b"\x03cpu\x02os"))
one("SPF", rr("r.example", 99, b"\x04spf1"))
one("UNK300", rr("r.example", 300, b"xyz"))
one("OPT_empty_ans", rr("", 41, b""))
one("OPT_data_ans", rr("", 41, b"\x00\x0a\x00\x02ab"))
one("MX", rr("r.example", 15, struct.pack("!H", 10) + name("mx.example")))
one("MX_short", rr("r.example", 15, b"\x00"))
one("NS", rr("r.example", 2, name("ns.example")))
one("PTR", rr("r.example", 12, name("ptr.example")))
one("TXT3", rr("r.example", 16, b"\x03one\x03two\x00"))
one("TXT_trail", rr("r.example", 16, b"\x03one\x09tw"))
one("TXT_bin", rr("r.example", 16, b"\x04\xff\x00a\x7f"))
one("CNAME_noterm", rr("r.example", 5, b"\x03abc"))
one("CNAME_overrun", rr("r.example", 5, b"\x09abc"))
one("CNAME_root", rr("r.example", 5, b"\x00"))
one("CNAME_ptr_hdr", rr("r.example", 5, b"\xc0\x02"))
one("DNAME", rr("r.example", 39, name("dname.example")))
one("NAPTR", rr("r.example", 35, b"\x00\x01\x00\x02\x01u\x03sip\x00\x00"))
one("RRSIG", rr("r.example", 46, b"\x00" * 20))
one("CAA", rr("r.example", 257, b"\x00\x05issueca.example"))

# message length for pointer tests
qsec = q("p.example")
# 3 INFINITE_LOOP after pivot: an unknown RR whose rdata contains a self pointer, then answer name -> that
off_unknown_rdata = 12 + len(qsec) + len(name("p.example")) + 10
rr1 = rr("p.example", 300, struct.pack("!H", 0xC000 | off_unknown_rdata))
rr2 = struct.pack("!H", 0xC000 | off_unknown_rdata) + struct.pack("!HHIH", 1, 1, 300, 4) + A("5.5.5.5")
flow("inf_loop_pivot", [(1, msg(3, 0x0100, [qsec])), (0, msg(3, 0x8180, [qsec], [rr1, rr2]))])
# same in query: question 2 name -> pointer into question1? use additional unknown rdata in query
# 4 LABEL_LIMIT after pivot: unknown rdata with 300 labels, answer name pointer to it
labels300 = name([b"x"] * 300)
rr1 = rr("p.example", 300, labels300)
rr2 = struct.pack("!H", 0xC000 | off_unknown_rdata) + struct.pack("!HHIH", 1, 1, 300, 4) + A("6.6.6.6")
flow("label_limit_pivot", [(1, msg(4, 0x0100, [qsec])), (0, msg(4, 0x8180, [qsec], [rr1, rr2]))])
# 4b exactly 254/255/256 labels no pointer
for n in (254, 255, 256):
    flow("labels%d" % n, [(1, msg(5, 0x0100, [q("ok.example")])), (1, msg(6, 0x0100, [q([b"y"] * n)]))])
# 5 long name after pivot
long = [bytes([ord('a') + i % 26]) * 63 for i in range(17)]
rr1 = rr("p.example", 300, name(long))
rr2 = struct.pack("!H", 0xC000 | off_unknown_rdata) + struct.pack("!HHIH", 1, 1, 300, 4) + A("7.7.7.7")
flow("long_pivot", [(1, msg(7, 0x0100, [qsec])), (0, msg(7, 0x8180, [qsec], [rr1, rr2]))])
# 5b long names in rdata: CNAME, SOA mname
one("CNAME_long", rr("r.example", 5, name(long)))
one("SOA_long", rr("r.example", 6, name(long) + name("rname.example") + struct.pack("!IIIII", 1, 2, 3, 4, 5)))
one("MX_long", rr("r.example", 15, b"\x00\x01" + name(long)))
one("SRV_long", rr("r.example", 33, struct.pack("!HHH", 1, 2, 443) + name(long)))
# 6 second query with counts too big
flow("counts_big_second", [(1, msg(8, 0x0100, [q("ok.example")])), (1, msg(9, 0x0100, [q("cb.example")], counts=(1, 0, 0, 200))), (0, msg(9, 0x8180, [q("cb.example")], counts=(1, 0, 0, 200)))])
# 7 additionals
opt = rr("", 41, b"", ttl=0, c=4096)
flow("q_opt", [(1, msg(10, 0x0100, [q("o.example")], [], [], [opt])), (0, msg(10, 0x8180, [q("o.example")], [rr("o.example", 1, A("1.1.1.1"))], [], [opt]))])
flow("q_bad_add", [(1, msg(11, 0x0100, [q("ok.example")])), (1, msg(12, 0x0100, [q("o2.example")], counts=(1, 0, 0, 1)) + b"\xff\xff\xff")])
flow("r_long_add", [(1, msg(13, 0x0100, [q("o3.example")])), (0, msg(13, 0x8180, [q("o3.example")], [rr("o3.example", 1, A("1.1.1.1"))], [], [rr(long, 1, A("2.2.2.2"))]))])
flow("q_long_add", [(1, msg(14, 0x0100, [q("o4.example")], [], [], [rr(long, 1, A("2.2.2.2"))]))])
flow("r_bad_add_long_ans", [(1, msg(15, 0x0100, [q("o5.example")])), (0, msg(15, 0x8180, [q("o5.example")], [rr(long, 1, A("1.1.1.1"))], counts=(1, 1, 0, 1)) + b"\xff")])
flow("q_answers_long", [(1, msg(16, 0x0100, [q("o6.example")], [rr(long, 1, A("2.2.2.2"))]))])
flow("q_answers_bad", [(1, msg(17, 0x0100, [q("ok.example")])), (1, msg(18, 0x0100, [q("o7.example")], counts=(1, 1, 0, 0)) + b"\xff\xff")])
flow("q_auth_bad", [(1, msg(19, 0x0100, [q("ok.example")])), (1, msg(20, 0x0100, [q("o8.example")], counts=(1, 0, 1, 0)) + b"\xff\xff")])
# 8 NOT_RESPONSE after detection in to-client direction
flow("not_resp_after", [(1, msg(21, 0x0100, [q("nr.example")])), (0, msg(21, 0x8180, [q("nr.example")])), (0, msg(22, 0x0180, [q("nr2.example")])), (0, msg(23, 0x0000, [q("nr3.example")]))])
# 9 pointer edge cases
m = hdr(24, 0x0100, 1)
ptr_end_q = struct.pack("!H", 0xC000 | (len(m) + 6)) + struct.pack("!HH", 1, 1)  # pointer to message end
flow("ptr_to_end", [(1, m + ptr_end_q)])
flow("ptr_to_hdr", [(1, hdr(25, 0x0100, 1) + b"\xc0\x0b" + struct.pack("!HH", 1, 1))])
# 10 query with Z flag + long name + opcode 7: event order
flow("events_order", [(1, msg(26, 0x3940, [q(long)])), (0, msg(26, 0xb9c0, [q(long)]))])
# 11 long second question only
flow("long_second_q", [(1, msg(27, 0x0100, [q("short.example"), q(long)])), (0, msg(27, 0x8180, [q("short.example"), q(long)]))])
# 12 response first with both ports 53
P.add(udp(SRV, 53, "10.0.0.2", 53, msg(28, 0x8180, [q("both53.example")], [rr("both53.example", 1, A("1.1.1.1"))])))
cases[53] = "both53"
# 13 response in to-server direction first (client port -> 53 but QR=1)
flow("resp_to_server_first", [(1, msg(29, 0x8180, [q("rts.example")], [rr("rts.example", 1, A("1.1.1.1"))])), (0, msg(29, 0x0100, [q("rts.example")]))])
# 14 response with zero questions but answers
flow("resp_zero_q", [(1, msg(30, 0x0100, [q("rz.example")])), (0, msg(30, 0x8180, [], [rr("rz.example", 1, A("1.1.1.1"))]))])
# 15 query 0 questions then normal
flow("q_zero_then", [(1, msg(31, 0x0100, [])), (1, msg(32, 0x0100, [q("after.example")]))])
# 16 A with extra class CH, qclass weird
flow("class_ch", [(1, msg(33, 0x0100, [q("ch.example", 16, 3)])), (0, msg(33, 0x8180, [q("ch.example", 16, 3)], [rr("ch.example", 16, b"\x02hi", c=3)]))])
# 17 two pointers hop and name built from label + pointer
flow("label_plus_ptr", [(1, msg(34, 0x0100, [q("www.lp.example")])), (0, msg(34, 0x8180, [q("www.lp.example")], [rr(b"\x03foo\xc0\x10", 1, A("1.1.1.1"))]))])
# 18 ttl high bit
flow("ttl_big", [(1, msg(35, 0x0100, [q("ttl.example")])), (0, msg(35, 0x8180, [q("ttl.example")], [rr("ttl.example", 1, A("1.1.1.1"), ttl=0x80000000)]))])
# 19 answer with rrtype filtered? rrname first question only; authorities only
flow("auth_only", [(1, msg(36, 0x0100, [q("ao.example")])), (0, msg(36, 0x8180, [q("ao.example")], [], [rr("ao.example", 2, name("ns1.example")), rr("ao.example", 1, A("9.9.9.9"))]))])
# 20 label length 0x80 (10xxxxxx)
flow("label_0x80", [(1, msg(37, 0x0100, [q("ok.example")])), (1, hdr(38, 0x0100, 1) + b"\x80a\x00" + struct.pack("!HH", 1, 1))])

P.write(os.path.join(OUT, "batch2.pcap"))
json.dump(cases, open(os.path.join(OUT, "batch2.cases.json"), "w"))
print(len(P.pkts), "packets")
