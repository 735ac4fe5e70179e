import struct, sys, json, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("OUT", ".")
from pcapgen import *
P = Pcap(); cases = {}; port = [45000]
A = lambda ip: bytes(int(x) for x in ip.split("."))
def L(m): return struct.pack("!H", len(m)) + m
def conv(label):
    port[0] += 1; cases[port[0]] = label
    return TcpConv(P, "10.0.0.1", port[0], "10.0.0.53", 53)
def Q(i, n="t.example", t=1, flags=0x0100, counts=None): return msg(i, flags, [q(n, t)], counts=counts)
def R(i, n="t.example", t=1, flags=0x8180): return msg(i, flags, [q(n, t)], [rr(n, 1, A("1.2.3.%d" % (i % 250)))])
c = conv("hdr_invalid_after_good"); c.send(1, L(Q(1)) + L(Q(2, counts=(1, 0, 0, 50)))); c.send(1, L(Q(3))); c.send(0, L(R(1))); c.close()
c = conv("resp_hdr_invalid_after_good"); c.send(1, L(Q(4))); c.send(0, L(R(4)) + L(msg(5, 0x8180, [q("x.example")], counts=(1, 9, 9, 9)))); c.send(0, L(R(6))); c.close()
c = conv("q_zero_q_then"); c.send(1, L(msg(7, 0x0100, [])) + L(Q(8))); c.send(0, L(R(8))); c.close()
c = conv("resp_zero_q_tcp"); c.send(1, L(Q(9))); c.send(0, L(msg(9, 0x8180, [], [rr("a.example", 1, A("1.1.1.1"))])) + L(R(10))); c.close()
P.write(os.path.join(OUT, "batch5.pcap")); json.dump(cases, open(os.path.join(OUT, "batch5.cases.json"), "w"))
