//! App-layer anomalies the TLS parser raises.
//!
//! The names of Suricata's events are kept verbatim (rules match them with
//! `app-layer-event:tls.<lowercase name>`); the few events for our own caps, which Suricata
//! has no equivalent for, use names Suricata does not have, so they cannot be confused.

/// One TLS parser anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsEvent {
    /// SSLv2 record header is unusable (zero length).
    InvalidSslv2Header,
    /// SSLv3+ record header could not be parsed.
    InvalidTlsHeader,
    /// Record version is not SSLv3 .. TLS 1.3 (or a known TLS 1.3 draft).
    InvalidRecordVersion,
    /// Record content type is not CCS, alert, handshake, application data or heartbeat.
    InvalidRecordType,
    /// Record length is zero or above the record size cap.
    InvalidRecordLength,
    /// Handshake message type unknown (outside encrypted traffic) or handshake data broken.
    InvalidHandshakeMessage,
    /// A heartbeat message is malformed or unexpected.
    InvalidHeartbeat,
    /// A heartbeat request claims more payload than its record holds (CVE-2014-0160).
    OverflowHeartbeat,
    /// An encrypted heartbeat response is longer than its request (heartbleed success).
    DataleakHeartbeatMismatch,
    /// A hello field runs past the end of its message.
    HandshakeInvalidLength,
    /// More than one SNI extension in one direction.
    MultipleSniExtensions,
    /// SNI name type is not `host_name`.
    InvalidSniType,
    /// SNI name is empty, longer than 255 bytes or runs past its extension.
    InvalidSniLength,
    /// More records in one chunk of data than it can hold (tiny-record flood).
    TooManyRecordsInPacket,
    /// A certificate entry is cut short or cannot be decoded at all.
    InvalidCertificate,
    /// Certificate DER is incomplete.
    CertificateInvalidLength,
    /// Certificate version is invalid.
    CertificateInvalidVersion,
    /// Certificate serial is invalid.
    CertificateInvalidSerial,
    /// Certificate algorithm identifier is invalid.
    CertificateInvalidAlgorithmidentifier,
    /// Certificate name is invalid.
    CertificateInvalidX509name,
    /// Certificate date is invalid.
    CertificateInvalidDate,
    /// Certificate extensions are invalid.
    CertificateInvalidExtensions,
    /// Certificate DER structure is invalid.
    CertificateInvalidDer,
    /// Certificate subject cannot be rendered.
    CertificateInvalidSubject,
    /// Certificate issuer cannot be rendered.
    CertificateInvalidIssuer,
    /// Certificate validity cannot be read.
    CertificateInvalidValidity,
    /// SSLv2 error message seen.
    ErrorMessageEncountered,
    /// Generic record error.
    InvalidSslRecord,
    /// Ours: a handshake message is larger than the handshake buffer cap; it was skipped.
    HandshakeMessageTooLong,
    /// Ours: a certificate chain has more entries than the chain cap; the rest were ignored.
    TooManyCertificates,
    /// Ours: a certificate is larger than the certificate size cap; it was not decoded.
    CertificateTooLong,
}

impl TlsEvent {
    /// The event name as printed in `anomaly.event`.
    pub fn name(self) -> &'static str {
        use TlsEvent::*;
        match self {
            InvalidSslv2Header => "INVALID_SSLV2_HEADER",
            InvalidTlsHeader => "INVALID_TLS_HEADER",
            InvalidRecordVersion => "INVALID_RECORD_VERSION",
            InvalidRecordType => "INVALID_RECORD_TYPE",
            InvalidRecordLength => "INVALID_RECORD_LENGTH",
            InvalidHandshakeMessage => "INVALID_HANDSHAKE_MESSAGE",
            InvalidHeartbeat => "INVALID_HEARTBEAT_MESSAGE",
            OverflowHeartbeat => "OVERFLOW_HEARTBEAT_MESSAGE",
            DataleakHeartbeatMismatch => "DATALEAK_HEARTBEAT_MISMATCH",
            HandshakeInvalidLength => "HANDSHAKE_INVALID_LENGTH",
            MultipleSniExtensions => "MULTIPLE_SNI_EXTENSIONS",
            InvalidSniType => "INVALID_SNI_TYPE",
            InvalidSniLength => "INVALID_SNI_LENGTH",
            TooManyRecordsInPacket => "TOO_MANY_RECORDS_IN_PACKET",
            InvalidCertificate => "INVALID_CERTIFICATE",
            CertificateInvalidLength => "CERTIFICATE_INVALID_LENGTH",
            CertificateInvalidVersion => "CERTIFICATE_INVALID_VERSION",
            CertificateInvalidSerial => "CERTIFICATE_INVALID_SERIAL",
            CertificateInvalidAlgorithmidentifier => "CERTIFICATE_INVALID_ALGORITHMIDENTIFIER",
            CertificateInvalidX509name => "CERTIFICATE_INVALID_X509NAME",
            CertificateInvalidDate => "CERTIFICATE_INVALID_DATE",
            CertificateInvalidExtensions => "CERTIFICATE_INVALID_EXTENSIONS",
            CertificateInvalidDer => "CERTIFICATE_INVALID_DER",
            CertificateInvalidSubject => "CERTIFICATE_INVALID_SUBJECT",
            CertificateInvalidIssuer => "CERTIFICATE_INVALID_ISSUER",
            CertificateInvalidValidity => "CERTIFICATE_INVALID_VALIDITY",
            ErrorMessageEncountered => "ERROR_MESSAGE_ENCOUNTERED",
            InvalidSslRecord => "INVALID_SSL_RECORD",
            HandshakeMessageTooLong => "HANDSHAKE_MESSAGE_TOO_LONG",
            TooManyCertificates => "TOO_MANY_CERTIFICATES",
            CertificateTooLong => "CERTIFICATE_TOO_LONG",
        }
    }
}
