import Foundation

/// P-256 public keys as the server wants them: a DER SubjectPublicKeyInfo.
///
/// The Secure Enclave (`SecKeyCopyExternalRepresentation`) exports the public key as an X9.63
/// uncompressed point (`04 || X || Y`, 65 bytes); the SPKI is that point behind the fixed DER
/// header for id-ecPublicKey / prime256v1. Plain Swift, so the Linux suite tests it too.
public enum P256PublicKey {
    /// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (65 bytes) }.
    public static let spkiHeader: [UInt8] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
        0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ]

    /// The SPKI of an X9.63 uncompressed point; `nil` if `point` is not one.
    public static func spki(x963 point: Data) -> Data? {
        guard point.count == 65, point.first == 0x04 else { return nil }
        return Data(spkiHeader) + point
    }

    /// The X9.63 point inside a P-256 SPKI; `nil` if `spki` is not one.
    public static func x963(spki: Data) -> Data? {
        guard spki.count == spkiHeader.count + 65, spki.prefix(spkiHeader.count).elementsEqual(spkiHeader) else {
            return nil
        }
        let point = spki.suffix(65)
        return point.first == 0x04 ? Data(point) : nil
    }
}
