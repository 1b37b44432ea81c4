//! The wire format an authenticator device and the server share: the protocol crate's
//! [`authcore_protocol::device`] (enroll link, activation codes, canonical messages, signature
//! check), kept at this path for the core's users.

pub use authcore_protocol::device::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_keys::{DeviceKeys, SoftwareDeviceKeys};
    use crate::store::MemoryStore as Memory;
    use std::sync::Arc;

    #[test]
    fn device_key_signatures_verify_and_others_do_not() {
        let keys = SoftwareDeviceKeys::new(Arc::new(Memory::default()));
        let spki = keys.generate("a").unwrap();
        let other = keys.generate("b").unwrap();
        let message = decision_message("7", Decision::Approve, "22", 1, "dv_a").unwrap();
        let signature = keys.sign("a", &message).unwrap();
        assert_eq!(verify_p256(&spki, &message, &signature), Ok(()));
        assert_eq!(
            verify_p256(&other, &message, &signature),
            Err(SignatureError::Invalid)
        );
        let mut tampered = message.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            verify_p256(&spki, &tampered, &signature),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify_p256(&spki[1..], &message, &signature),
            Err(SignatureError::BadPublicKey)
        );
    }
}
