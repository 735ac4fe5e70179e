//! Inspection buffers (sticky buffers and legacy content modifiers) and app-layer protocols.
//!
//! One table row per buffer: its sticky keyword, aliases, legacy content-modifier name, the
//! app-layer protocol it binds the rule to, and the direction it exists in. The rule builder
//! uses the protocol to reject e.g. `tls.sni` in an `alert dns` rule and the direction to reject
//! rules that mix request-only and response-only buffers, as Suricata does.

/// Application-layer protocols a rule can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AppProto {
    /// HTTP/1 or HTTP/2 (`http`, Suricata's `http_any`).
    Http,
    /// HTTP/1 only.
    Http1,
    /// HTTP/2 only.
    Http2,
    /// FTP control.
    Ftp,
    /// FTP data.
    FtpData,
    /// SMTP.
    Smtp,
    /// TLS.
    Tls,
    /// SSH.
    Ssh,
    /// IMAP.
    Imap,
    /// SMB.
    Smb,
    /// DCE/RPC.
    Dcerpc,
    /// DNS.
    Dns,
    /// NFS.
    Nfs,
    /// NTP.
    Ntp,
    /// TFTP.
    Tftp,
    /// IKE (v1/v2).
    Ike,
    /// Kerberos 5.
    Krb5,
    /// QUIC.
    Quic,
    /// DHCP.
    Dhcp,
    /// SNMP.
    Snmp,
    /// SIP.
    Sip,
    /// RFB (VNC).
    Rfb,
    /// MQTT.
    Mqtt,
    /// Telnet.
    Telnet,
    /// RDP.
    Rdp,
    /// BitTorrent DHT.
    BittorrentDht,
    /// Modbus (disabled in Suricata's default config).
    Modbus,
    /// EtherNet/IP (disabled in Suricata's default config).
    Enip,
    /// DNP3 (disabled in Suricata's default config).
    Dnp3,
    /// PostgreSQL (disabled in Suricata's default config).
    Pgsql,
}

/// (rule-text name, protocol, enabled in Suricata 7.0.10's default config).
const APP_PROTOS: &[(&str, AppProto, bool)] = &[
    ("http", AppProto::Http, true),
    ("http1", AppProto::Http1, true),
    ("http2", AppProto::Http2, true),
    ("ftp", AppProto::Ftp, true),
    ("ftp-data", AppProto::FtpData, true),
    ("smtp", AppProto::Smtp, true),
    ("tls", AppProto::Tls, true),
    ("ssh", AppProto::Ssh, true),
    ("imap", AppProto::Imap, true),
    ("smb", AppProto::Smb, true),
    ("dcerpc", AppProto::Dcerpc, true),
    ("dns", AppProto::Dns, true),
    ("nfs", AppProto::Nfs, true),
    ("ntp", AppProto::Ntp, true),
    ("tftp", AppProto::Tftp, true),
    ("ike", AppProto::Ike, true),
    ("ikev2", AppProto::Ike, true),
    ("krb5", AppProto::Krb5, true),
    ("quic", AppProto::Quic, true),
    ("dhcp", AppProto::Dhcp, true),
    ("snmp", AppProto::Snmp, true),
    ("sip", AppProto::Sip, true),
    ("rfb", AppProto::Rfb, true),
    ("mqtt", AppProto::Mqtt, true),
    ("telnet", AppProto::Telnet, true),
    ("rdp", AppProto::Rdp, true),
    ("bittorrent-dht", AppProto::BittorrentDht, true),
    ("modbus", AppProto::Modbus, false),
    ("enip", AppProto::Enip, false),
    ("dnp3", AppProto::Dnp3, false),
    ("pgsql", AppProto::Pgsql, false),
];

impl AppProto {
    /// Look up a protocol by its rule-text name (case-sensitive, like Suricata's app-layer
    /// names). Returns the protocol and whether detection is enabled for it by default.
    pub fn from_name(name: &str) -> Option<(AppProto, bool)> {
        APP_PROTOS
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|&(_, p, e)| (p, e))
    }

    /// The protocol's canonical rule-text name.
    pub fn name(self) -> &'static str {
        APP_PROTOS
            .iter()
            .find(|(_, p, _)| *p == self)
            .map(|(n, _, _)| *n)
            .unwrap_or("unknown")
    }

    /// True when Suricata's default configuration enables detection for the protocol.
    pub fn enabled_by_default(self) -> bool {
        APP_PROTOS.iter().any(|&(_, p, e)| p == self && e)
    }

    /// True when a keyword bound to `kw` may be used in a rule bound to `self`.
    pub fn accepts(self, kw: AppProto) -> bool {
        use AppProto::*;
        self == kw
            || matches!(
                (self, kw),
                (Http1 | Http2, Http) | (Http, Http1 | Http2) | (Smb, Dcerpc)
            )
    }
}

/// Direction(s) a buffer exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dir {
    /// Client to server only (requests).
    ToServer,
    /// Server to client only (responses).
    ToClient,
    /// Either direction.
    Both,
}

/// What a buffer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BufKind {
    /// The packet payload or reassembled stream (`pkt_data`).
    Payload,
    /// A header of the packet (`ipv4.hdr`, `tcp.hdr`, ...).
    Packet,
    /// An app-layer buffer.
    App,
    /// Decoded base64 (`base64_data`).
    Base64,
}

/// Static facts about one buffer.
#[derive(Debug)]
pub struct BufferDef {
    /// Sticky keyword.
    pub name: &'static str,
    /// Other sticky keyword spellings.
    pub aliases: &'static [&'static str],
    /// Legacy content-modifier keyword (`http_uri`), if any.
    pub modifier: Option<&'static str>,
    /// Protocol the buffer binds the rule to.
    pub proto: Option<AppProto>,
    /// Direction.
    pub dir: Dir,
    /// Kind.
    pub kind: BufKind,
}

macro_rules! buffers {
    ($( $var:ident = $name:literal [$($alias:literal),*] $modifier:expr, $proto:expr, $dir:ident, $kind:ident; )*) => {
        /// An inspection buffer.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Buffer {
            $( #[doc = concat!("`", $name, "`")] $var, )*
        }

        impl Buffer {
            /// Every buffer.
            pub const ALL: &'static [Buffer] = &[ $( Buffer::$var, )* ];

            /// Static facts about the buffer.
            pub fn def(self) -> &'static BufferDef {
                match self {
                    $( Buffer::$var => {
                        static D: BufferDef = BufferDef {
                            name: $name,
                            aliases: &[$($alias),*],
                            modifier: $modifier,
                            proto: $proto,
                            dir: Dir::$dir,
                            kind: BufKind::$kind,
                        };
                        &D
                    } )*
                }
            }
        }
    };
}

use AppProto as P;

buffers! {
    Payload = "pkt_data" [] None, None, Both, Payload;
    Base64Data = "base64_data" [] None, None, Both, Base64;
    FileData = "file.data" ["file_data"] None, None, Both, App;
    FileName = "file.name" [] None, None, Both, App;
    FileMagic = "file.magic" [] None, None, Both, App;
    HttpUri = "http.uri" [] Some("http_uri"), Some(P::Http), ToServer, App;
    HttpUriRaw = "http.uri.raw" [] Some("http_raw_uri"), Some(P::Http), ToServer, App;
    HttpMethod = "http.method" [] Some("http_method"), Some(P::Http), ToServer, App;
    HttpUserAgent = "http.user_agent" [] Some("http_user_agent"), Some(P::Http), ToServer, App;
    HttpHost = "http.host" [] Some("http_host"), Some(P::Http), ToServer, App;
    HttpHostRaw = "http.host.raw" [] Some("http_raw_host"), Some(P::Http), ToServer, App;
    HttpHeader = "http.header" [] Some("http_header"), Some(P::Http), Both, App;
    HttpHeaderRaw = "http.header.raw" [] Some("http_raw_header"), Some(P::Http), Both, App;
    HttpCookie = "http.cookie" [] Some("http_cookie"), Some(P::Http), Both, App;
    HttpStatCode = "http.stat_code" [] Some("http_stat_code"), Some(P::Http), ToClient, App;
    HttpStatMsg = "http.stat_msg" [] Some("http_stat_msg"), Some(P::Http), ToClient, App;
    HttpRequestBody = "http.request_body" [] Some("http_client_body"), Some(P::Http), ToServer, App;
    HttpResponseBody = "http.response_body" [] Some("http_server_body"), Some(P::Http), ToClient, App;
    HttpRequestLine = "http.request_line" ["http_request_line"] None, Some(P::Http), ToServer, App;
    HttpResponseLine = "http.response_line" ["http_response_line"] None, Some(P::Http), ToClient, App;
    HttpContentType = "http.content_type" ["http_content_type"] None, Some(P::Http), Both, App;
    HttpContentLen = "http.content_len" ["http_content_len"] None, Some(P::Http), Both, App;
    HttpReferer = "http.referer" ["http_referer"] None, Some(P::Http), ToServer, App;
    HttpAccept = "http.accept" ["http_accept"] None, Some(P::Http), ToServer, App;
    HttpAcceptEnc = "http.accept_enc" ["http_accept_enc"] None, Some(P::Http), ToServer, App;
    HttpAcceptLang = "http.accept_lang" ["http_accept_lang"] None, Some(P::Http), ToServer, App;
    HttpConnection = "http.connection" ["http_connection"] None, Some(P::Http), Both, App;
    HttpHeaderNames = "http.header_names" ["http_header_names"] None, Some(P::Http), Both, App;
    HttpProtocol = "http.protocol" ["http_protocol"] None, Some(P::Http), Both, App;
    HttpStart = "http.start" ["http_start"] None, Some(P::Http), Both, App;
    HttpLocation = "http.location" [] None, Some(P::Http), ToClient, App;
    HttpServer = "http.server" [] None, Some(P::Http), ToClient, App;
    HttpRequestHeader = "http.request_header" [] None, Some(P::Http), ToServer, App;
    HttpResponseHeader = "http.response_header" [] None, Some(P::Http), ToClient, App;
    Http2HeaderName = "http2.header_name" [] None, Some(P::Http2), Both, App;
    TlsSni = "tls.sni" ["tls_sni"] None, Some(P::Tls), ToServer, App;
    TlsCerts = "tls.certs" [] None, Some(P::Tls), Both, App;
    TlsCertIssuer = "tls.cert_issuer" ["tls_cert_issuer"] None, Some(P::Tls), Both, App;
    TlsCertSubject = "tls.cert_subject" ["tls_cert_subject"] None, Some(P::Tls), Both, App;
    TlsCertSerial = "tls.cert_serial" ["tls_cert_serial"] None, Some(P::Tls), Both, App;
    TlsCertFingerprint = "tls.cert_fingerprint" ["tls_cert_fingerprint"] None, Some(P::Tls), Both, App;
    TlsRandom = "tls.random" [] None, Some(P::Tls), Both, App;
    TlsRandomTime = "tls.random_time" [] None, Some(P::Tls), Both, App;
    TlsRandomBytes = "tls.random_bytes" [] None, Some(P::Tls), Both, App;
    Ja3Hash = "ja3.hash" ["ja3_hash"] None, Some(P::Tls), ToServer, App;
    Ja3String = "ja3.string" ["ja3_string"] None, Some(P::Tls), ToServer, App;
    Ja3sHash = "ja3s.hash" [] None, Some(P::Tls), ToClient, App;
    Ja3sString = "ja3s.string" [] None, Some(P::Tls), ToClient, App;
    Ja4Hash = "ja4.hash" ["ja4_hash"] None, Some(P::Tls), ToServer, App;
    DnsQuery = "dns.query" ["dns_query"] None, Some(P::Dns), ToServer, App;
    SshProto = "ssh.proto" ["ssh_proto"] None, Some(P::Ssh), Both, App;
    SshSoftware = "ssh.software" ["ssh_software"] None, Some(P::Ssh), Both, App;
    SshHassh = "ssh.hassh" [] None, Some(P::Ssh), ToServer, App;
    SshHasshServer = "ssh.hassh.server" [] None, Some(P::Ssh), ToClient, App;
    SshHasshString = "ssh.hassh.string" [] None, Some(P::Ssh), ToServer, App;
    SshHasshServerString = "ssh.hassh.server.string" [] None, Some(P::Ssh), ToClient, App;
    DcerpcStubData = "dcerpc.stub_data" ["dce_stub_data"] None, Some(P::Dcerpc), Both, App;
    SmbNamedPipe = "smb.named_pipe" ["smb_named_pipe"] None, Some(P::Smb), Both, App;
    SmbShare = "smb.share" ["smb_share"] None, Some(P::Smb), Both, App;
    SmbNtlmsspUser = "smb.ntlmssp_user" [] None, Some(P::Smb), Both, App;
    SmbNtlmsspDomain = "smb.ntlmssp_domain" [] None, Some(P::Smb), Both, App;
    Krb5Cname = "krb5.cname" ["krb5_cname"] None, Some(P::Krb5), Both, App;
    Krb5Sname = "krb5.sname" ["krb5_sname"] None, Some(P::Krb5), Both, App;
    SipMethod = "sip.method" [] None, Some(P::Sip), ToServer, App;
    SipUri = "sip.uri" [] None, Some(P::Sip), ToServer, App;
    SipProtocol = "sip.protocol" [] None, Some(P::Sip), Both, App;
    SipStatCode = "sip.stat_code" [] None, Some(P::Sip), ToClient, App;
    SipStatMsg = "sip.stat_msg" [] None, Some(P::Sip), ToClient, App;
    SipRequestLine = "sip.request_line" [] None, Some(P::Sip), ToServer, App;
    SipResponseLine = "sip.response_line" [] None, Some(P::Sip), ToClient, App;
    RfbName = "rfb.name" [] None, Some(P::Rfb), Both, App;
    SnmpUsm = "snmp.usm" [] None, Some(P::Snmp), Both, App;
    SnmpCommunity = "snmp.community" [] None, Some(P::Snmp), Both, App;
    MqttConnectClientid = "mqtt.connect.clientid" [] None, Some(P::Mqtt), Both, App;
    MqttConnectUsername = "mqtt.connect.username" [] None, Some(P::Mqtt), Both, App;
    MqttConnectPassword = "mqtt.connect.password" [] None, Some(P::Mqtt), Both, App;
    MqttConnectWilltopic = "mqtt.connect.willtopic" [] None, Some(P::Mqtt), Both, App;
    MqttConnectWillmessage = "mqtt.connect.willmessage" [] None, Some(P::Mqtt), Both, App;
    MqttPublishTopic = "mqtt.publish.topic" [] None, Some(P::Mqtt), Both, App;
    MqttPublishMessage = "mqtt.publish.message" [] None, Some(P::Mqtt), Both, App;
    MqttSubscribeTopic = "mqtt.subscribe.topic" [] None, Some(P::Mqtt), Both, App;
    MqttUnsubscribeTopic = "mqtt.unsubscribe.topic" [] None, Some(P::Mqtt), Both, App;
    QuicVersion = "quic.version" [] None, Some(P::Quic), Both, App;
    QuicSni = "quic.sni" [] None, Some(P::Quic), Both, App;
    QuicUa = "quic.ua" [] None, Some(P::Quic), Both, App;
    QuicCyuHash = "quic.cyu.hash" [] None, Some(P::Quic), Both, App;
    QuicCyuString = "quic.cyu.string" [] None, Some(P::Quic), Both, App;
    IkeInitSpi = "ike.init_spi" [] None, Some(P::Ike), Both, App;
    IkeRespSpi = "ike.resp_spi" [] None, Some(P::Ike), Both, App;
    IkeVendor = "ike.vendor" [] None, Some(P::Ike), Both, App;
    IkeNoncePayload = "ike.nonce_payload" [] None, Some(P::Ike), Both, App;
    IkeKeyExchangePayload = "ike.key_exchange_payload" [] None, Some(P::Ike), Both, App;
    Dnp3Data = "dnp3.data" ["dnp3_data"] None, Some(P::Dnp3), Both, App;
    Ipv4Hdr = "ipv4.hdr" [] None, None, Both, Packet;
    Ipv6Hdr = "ipv6.hdr" [] None, None, Both, Packet;
    Icmpv4Hdr = "icmpv4.hdr" [] None, None, Both, Packet;
    Icmpv6Hdr = "icmpv6.hdr" [] None, None, Both, Packet;
    TcpHdr = "tcp.hdr" [] None, None, Both, Packet;
    UdpHdr = "udp.hdr" [] None, None, Both, Packet;
}

impl Buffer {
    /// The buffer's sticky keyword.
    pub fn name(self) -> &'static str {
        self.def().name
    }
}
