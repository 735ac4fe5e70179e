import struct, sys, json, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("OUT", ".")
from pcapgen import *

P = Pcap()
CLI, SRV = "10.0.0.1", "10.0.0.53"
cases = {}
port = [40000]
A = lambda ip: bytes(int(x) for x in ip.split("."))


def L(m):
    return struct.pack("!H", len(m)) + m


def conv(label):
    port[0] += 1
    cases[port[0]] = label
    return TcpConv(P, CLI, port[0], SRV, 53)


def Q(i, n="t.example", t=1, flags=0x0100):
    return msg(i, flags, [q(n, t)])


def R(i, n="t.example", t=1, flags=0x8180):
    return msg(i, flags, [q(n, t)], [rr(n, 1, A("1.2.3.%d" % (i % 250)))])


c = conv("two_in_one")
c.send(1, L(Q(1)) + L(Q(2)))
c.send(0, L(R(1)))
c.send(0, L(R(2)))
c.close()

c = conv("split")
m = L(Q(3))
c.send(1, m[:1])
c.send(1, m[1:7])
c.send(1, m[7:])
m = L(R(3))
c.send(0, m[:2])
c.send(0, m[2:])
c.close()

c = conv("zero_prefix")
c.send(1, b"\x00\x00" + L(Q(4)) + b"\x00\x00")
c.send(0, L(R(4)))
c.close()

c = conv("malformed_after_good_same_seg")
c.send(1, L(Q(5)) + L(b"\x00\x06\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab"))
c.send(1, L(Q(6)))
c.send(0, L(R(5)))
c.close()

c = conv("malformed_alone_then_good")
c.send(1, L(Q(7)))
c.send(1, L(b"\x00\x08\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab"))
c.send(1, L(Q(9)))
c.send(0, L(R(7)))
c.send(0, L(R(9)))
c.close()

c = conv("short_prefix_msg")
c.send(1, L(Q(10)))
c.send(1, L(b"\x01\x02\x03\x04\x05"))
c.send(1, L(Q(11)))
c.send(0, L(R(10)))
c.close()

c = conv("not_response_same_seg")
c.send(1, L(Q(12)))
c.send(0, L(R(12)) + L(R(13, flags=0x0180)))
c.close()

c = conv("not_request_same_seg")
c.send(1, L(Q(14)) + L(R(15)))
c.send(1, L(Q(16)))
c.send(0, L(R(14)))
c.close()

c = conv("probe_incomplete_first")
m = L(Q(17))
c.send(1, m[:5])
c.send(1, m[5:])
c.send(0, L(R(17)))
c.close()

c = conv("zflag_two_in_one")
c.send(1, L(Q(18, flags=0x0140)) + L(Q(19)))
c.send(0, L(R(18)) + L(R(19, flags=0x81c0)))
c.close()

c = conv("malformed_resp_after_good")
c.send(1, L(Q(20)))
c.send(0, L(R(20)) + L(b"\x00\x14\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x05ab"))
c.close()

c = conv("first_is_garbage")
c.send(1, L(b"\x00\x15\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab"))
c.send(1, L(Q(22)))
c.send(0, L(R(22)))
c.close()

c = conv("counts_too_big_first")
c.send(1, L(msg(23, 0x0100, [q("x.example")], counts=(1, 0, 0, 100))))
c.send(1, L(Q(24)))
c.send(0, L(R(24)))
c.close()

# gap: client sends 3 queries, middle segment missing from capture
c = conv("gap")
m1, m2, m3 = L(Q(25)), L(Q(26)), L(Q(27))
c.send(1, m1)
# skip m2: advance seq without emitting data, then server acks everything later
c.cseq += len(m2)
c.send(1, m3)
c.send(0, L(R(25)))
c.close()

# response first over TCP (midstream-ish not needed: handshake present, server speaks first)
c = conv("server_first")
c.send(0, L(R(28)))
c.send(1, L(Q(29)))
c.close()

P.write(os.path.join(OUT, "batch3.pcap"))
json.dump(cases, open(os.path.join(OUT, "batch3.cases.json"), "w"))
print(len(P.pkts), "packets")
