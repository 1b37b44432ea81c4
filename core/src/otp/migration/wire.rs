//! The protobuf wire format of the two export messages, read and written by hand: varints,
//! length-delimited fields and the skipping of unknown ones, nothing more (the schema is two
//! messages of scalar, string and bytes fields). Decoding follows protobuf's rules: the last
//! value of a repeated scalar field wins, unknown fields (groups included) are skipped, a known
//! field with another wire type, a bad varint, invalid UTF-8 in a string or a length past the end
//! is an error.

use zeroize::Zeroize;

use super::{OtpParameters, Payload};

/// Why a payload did not decode; the caller reports every case as one error.
#[derive(Debug)]
pub(super) struct Malformed;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;

/// Nested groups deeper than this are refused instead of recursing without end.
const MAX_DEPTH: u32 = 100;

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&byte, rest) = self.0.split_first().ok_or(Malformed)?;
            self.0 = rest;
            // The tenth byte may only carry the top bit of a u64.
            if i == 9 && byte > 1 {
                return Err(Malformed);
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(Malformed)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], Malformed> {
        if len > self.0.len() {
            return Err(Malformed);
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    fn len_delimited(&mut self) -> Result<&'a [u8], Malformed> {
        let len = usize::try_from(self.varint()?).map_err(|_| Malformed)?;
        self.take(len)
    }

    /// The next field's number and wire type, or None at the end.
    fn key(&mut self) -> Result<Option<(u32, u8)>, Malformed> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = u32::try_from(key >> 3).map_err(|_| Malformed)?;
        if field == 0 || field >= 1 << 29 {
            return Err(Malformed);
        }
        Ok(Some((field, (key & 7) as u8)))
    }

    /// Skips the value of an unknown field of `wire` type (a group up to its end).
    fn skip(&mut self, field: u32, wire: u8, depth: u32) -> Result<(), Malformed> {
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.len_delimited().map(drop),
            FIXED32 => self.take(4).map(drop),
            START_GROUP if depth < MAX_DEPTH => loop {
                match self.key()?.ok_or(Malformed)? {
                    (end, END_GROUP) if end == field => return Ok(()),
                    (_, END_GROUP) => return Err(Malformed),
                    (inner, wire) => self.skip(inner, wire, depth + 1)?,
                }
            },
            _ => Err(Malformed),
        }
    }
}

/// A known field's value must come with the wire type of its declaration.
fn expect(wire: u8, declared: u8) -> Result<(), Malformed> {
    if wire == declared {
        Ok(())
    } else {
        Err(Malformed)
    }
}

pub(super) fn decode_payload(bytes: &[u8]) -> Result<Payload, Malformed> {
    let mut reader = Reader(bytes);
    let mut payload = Payload::default();
    while let Some((field, wire)) = reader.key()? {
        match field {
            1 => {
                expect(wire, LEN)?;
                let params = decode_params(reader.len_delimited()?)?;
                payload.otp_parameters.push(params);
            }
            2..=5 => {
                expect(wire, VARINT)?;
                // int32 on the wire: the low 32 bits of the varint.
                let value = reader.varint()? as i32;
                match field {
                    2 => payload.version = Some(value),
                    3 => payload.batch_size = value,
                    4 => payload.batch_index = value,
                    _ => payload.batch_id = value,
                }
            }
            _ => reader.skip(field, wire, 0)?,
        }
    }
    Ok(payload)
}

fn decode_params(bytes: &[u8]) -> Result<OtpParameters, Malformed> {
    let mut reader = Reader(bytes);
    let mut params = OtpParameters::default();
    while let Some((field, wire)) = reader.key()? {
        match field {
            1 => {
                expect(wire, LEN)?;
                params.secret.zeroize();
                params.secret = reader.len_delimited()?.to_vec();
            }
            2 | 3 => {
                expect(wire, LEN)?;
                let text = std::str::from_utf8(reader.len_delimited()?).map_err(|_| Malformed)?;
                *if field == 2 {
                    &mut params.name
                } else {
                    &mut params.issuer
                } = text.to_owned();
            }
            4..=7 => {
                expect(wire, VARINT)?;
                let value = reader.varint()?;
                match field {
                    4 => params.algorithm = value as i32,
                    5 => params.digits = value as i32,
                    6 => params.r#type = value as i32,
                    _ => params.counter = value as i64,
                }
            }
            _ => reader.skip(field, wire, 0)?,
        }
    }
    Ok(params)
}

/// The payload's bytes: fields in number order, proto3 defaults (0, empty) left out, `version`
/// written whenever it is set.
pub(super) fn encode_payload(payload: &Payload) -> Vec<u8> {
    let mut out = Vec::new();
    for params in &payload.otp_parameters {
        let inner = zeroize::Zeroizing::new(encode_params(params));
        put_len(&mut out, 1, &inner);
    }
    if let Some(version) = payload.version {
        put_key(&mut out, 2, VARINT);
        put_varint(&mut out, version as i64 as u64);
    }
    put_int(&mut out, 3, i64::from(payload.batch_size));
    put_int(&mut out, 4, i64::from(payload.batch_index));
    put_int(&mut out, 5, i64::from(payload.batch_id));
    out
}

fn encode_params(params: &OtpParameters) -> Vec<u8> {
    let mut out = Vec::new();
    put_len(&mut out, 1, &params.secret);
    put_len(&mut out, 2, params.name.as_bytes());
    put_len(&mut out, 3, params.issuer.as_bytes());
    put_int(&mut out, 4, i64::from(params.algorithm));
    put_int(&mut out, 5, i64::from(params.digits));
    put_int(&mut out, 6, i64::from(params.r#type));
    put_int(&mut out, 7, params.counter);
    out
}

fn put_key(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, u64::from(field << 3 | u32::from(wire)));
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A varint field unless it is 0; a negative int32 goes out sign-extended to 10 bytes.
fn put_int(out: &mut Vec<u8>, field: u32, value: i64) {
    if value != 0 {
        put_key(out, field, VARINT);
        put_varint(out, value as u64);
    }
}

/// A length-delimited field unless it is empty.
fn put_len(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    if !bytes.is_empty() {
        put_key(out, field, LEN);
        put_varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }
}
