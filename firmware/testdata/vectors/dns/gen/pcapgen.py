"""Tiny pcap writer + DNS message builder for black-box probing of Suricata's DNS logging."""
import struct

LINK_ETH = 1


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


class Pcap:
    def __init__(self):
        self.pkts = []
        self.t = 1700000000.0

    def add(self, frame, dt=0.001):
        self.t += dt
        self.pkts.append((self.t, frame))

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, LINK_ETH))
            for t, fr in self.pkts:
                sec = int(t)
                usec = int(round((t - sec) * 1e6))
                f.write(struct.pack("<IIII", sec, usec, len(fr), len(fr)))
                f.write(fr)


def eth(payload):
    return b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb" + b"\x08\x00" + payload


def ipv4(src, dst, proto, payload, ident=1):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0, ip4(src), ip4(dst))
    c = csum(hdr)
    hdr = hdr[:10] + struct.pack("!H", c) + hdr[12:]
    return hdr + payload


def udp(src, sport, dst, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, len(seg))
    c = csum(pseudo + seg) or 0xFFFF
    seg = seg[:6] + struct.pack("!H", c) + seg[8:]
    return eth(ipv4(src, dst, 17, seg))


def tcp_seg(src, sport, dst, dport, seq, ack, flags, payload=b""):
    off = 5 << 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off, flags, 65535, 0, 0) + payload
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(seg))
    c = csum(pseudo + seg)
    seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    return eth(ipv4(src, dst, 6, seg))


FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


class TcpConv:
    """A TCP conversation: handshake, data segments (each ACKed), FIN exchange."""

    def __init__(self, pcap, cli, cport, srv, sport):
        self.p, self.c, self.cp, self.s, self.sp = pcap, cli, cport, srv, sport
        self.cseq, self.sseq = 1000, 5000
        p = pcap
        p.add(tcp_seg(cli, cport, srv, sport, self.cseq, 0, SYN))
        p.add(tcp_seg(srv, sport, cli, cport, self.sseq, self.cseq + 1, SYN | ACK))
        self.cseq += 1
        self.sseq += 1
        p.add(tcp_seg(cli, cport, srv, sport, self.cseq, self.sseq, ACK))

    def send(self, to_server, data):
        if to_server:
            self.p.add(tcp_seg(self.c, self.cp, self.s, self.sp, self.cseq, self.sseq, PSH | ACK, data))
            self.cseq += len(data)
            self.p.add(tcp_seg(self.s, self.sp, self.c, self.cp, self.sseq, self.cseq, ACK))
        else:
            self.p.add(tcp_seg(self.s, self.sp, self.c, self.cp, self.sseq, self.cseq, PSH | ACK, data))
            self.sseq += len(data)
            self.p.add(tcp_seg(self.c, self.cp, self.s, self.sp, self.cseq, self.sseq, ACK))

    def close(self):
        p = self.p
        p.add(tcp_seg(self.c, self.cp, self.s, self.sp, self.cseq, self.sseq, FIN | ACK))
        self.cseq += 1
        p.add(tcp_seg(self.s, self.sp, self.c, self.cp, self.sseq, self.cseq, FIN | ACK))
        self.sseq += 1
        p.add(tcp_seg(self.c, self.cp, self.s, self.sp, self.cseq, self.sseq, ACK))


def name(n):
    """Encode a dotted name (str or list of bytes labels)."""
    if isinstance(n, (bytes, bytearray)):
        return bytes(n)
    if isinstance(n, list):
        out = b""
        for lab in n:
            out += bytes([len(lab)]) + lab
        return out + b"\0"
    if n in ("", "."):
        return b"\0"
    out = b""
    for lab in n.split("."):
        b = lab.encode()
        out += bytes([len(b)]) + b
    return out + b"\0"


def hdr(id, flags, qd=0, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", id, flags, qd, an, ns, ar)


def q(n, t=1, c=1):
    return name(n) + struct.pack("!HH", t, c)


def rr(n, t, rdata, ttl=300, c=1, rdlen=None):
    if rdlen is None:
        rdlen = len(rdata)
    return name(n) + struct.pack("!HHIH", t, c, ttl, rdlen) + rdata


def msg(id, flags, qs=(), ans=(), auth=(), add=(), counts=None):
    qd, an, ns, ar = counts if counts else (len(qs), len(ans), len(auth), len(add))
    return hdr(id, flags, qd, an, ns, ar) + b"".join(qs) + b"".join(ans) + b"".join(auth) + b"".join(add)
