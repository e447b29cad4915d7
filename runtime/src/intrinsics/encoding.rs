//! Encoding intrinsics: States.Base64Encode, Base64Decode, Hash, UUID.

use super::{want_str, Env, Failure, Result};
use crate::common::Rng;
use crate::value::{to_json_bounded, ArenaExt, Value};
use base64::Engine as _;
use bumpalo::Bump;

/// AWS's input limits for the encoding functions (characters).
const MAX_BASE64_INPUT: usize = crate::common::BASE64_INPUT_CHARS;
const MAX_HASH_INPUT: usize = crate::common::HASH_INPUT_CHARS;

pub fn base64_encode<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let s = want_str("States.Base64Encode", 0, args[0])?;
    if s.chars().count() > MAX_BASE64_INPUT {
        return Err(Failure::new(format!(
            "The input to States.Base64Encode must be at most {MAX_BASE64_INPUT} characters"
        )));
    }
    let engine = &base64::engine::general_purpose::STANDARD;
    let out = env.arena.alloc_slice_fill_copy(base64::encoded_len(s.len(), true).unwrap_or(0), 0u8);
    let n = engine.encode_slice(s, out).map_err(|e| Failure::new(format!("States.Base64Encode failed: {e}")))?;
    Ok(Value::Str(std::str::from_utf8(&out[..n]).unwrap_or_default()))
}

pub fn base64_decode<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let s = want_str("States.Base64Decode", 0, args[0])?;
    if s.chars().count() > MAX_BASE64_INPUT {
        return Err(Failure::new(format!(
            "The input to States.Base64Decode must be at most {MAX_BASE64_INPUT} characters"
        )));
    }
    let out = env.arena.alloc_slice_fill_copy(base64::decoded_len_estimate(s.len()), 0u8);
    let n = base64::engine::general_purpose::STANDARD
        .decode_slice(s, out)
        .map_err(|e| Failure::new(format!("The input to States.Base64Decode is not valid base64: {e}")))?;
    let text = std::str::from_utf8(&out[..n])
        .map_err(|_| Failure::new("The input to States.Base64Decode does not decode to UTF-8 text"))?;
    Ok(Value::Str(text))
}

/// `States.Hash(data, algorithm)`: lowercase hex digest. Non-string data is hashed as its JSON text.
pub fn hash<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let data = match args[0] {
        Value::Str(s) => s,
        Value::Null => return Err(Failure::new("The first argument of States.Hash must not be null")),
        other => to_json_bounded(env.arena, &other).ok_or_else(super::too_large)?,
    };
    check_hash_input(data)?;
    let algorithm = want_str("States.Hash", 1, args[1])?;
    hex_digest(env.arena, data, algorithm)
}

/// The longest text States.Hash (and JSONata's `$hash`) takes.
pub fn check_hash_input(data: &str) -> Result<()> {
    if data.chars().count() > MAX_HASH_INPUT {
        return Err(Failure::new(format!("The input to States.Hash must be at most {MAX_HASH_INPUT} characters")));
    }
    Ok(())
}

/// `data`'s digest by `algorithm` (MD5, SHA-1, SHA-256, SHA-384 or SHA-512), in lowercase hex.
pub fn hex_digest<'a>(arena: &'a Bump, data: &str, algorithm: &str) -> Result<Value<'a>> {
    use sha2::Digest;
    let hex = |digest: &[u8]| -> Value<'a> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let out = arena.alloc_slice_fill_copy(digest.len() * 2, 0u8);
        for (i, b) in digest.iter().enumerate() {
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 15) as usize];
        }
        Value::Str(std::str::from_utf8(out).unwrap_or_default())
    };
    Ok(match algorithm {
        "MD5" => hex(&md5::Md5::digest(data)),
        "SHA-1" => hex(&sha1::Sha1::digest(data)),
        "SHA-256" => hex(&sha2::Sha256::digest(data)),
        "SHA-384" => hex(&sha2::Sha384::digest(data)),
        "SHA-512" => hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(Failure::new(format!(
                "The hashing algorithm '{other}' is not supported; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
            )))
        }
    })
}

/// `States.UUID()`: a version 4 UUID from the execution's seedable random source.
pub fn uuid<'a>(env: &mut Env<'a, '_>, _: &[Value<'a>]) -> Result<Value<'a>> {
    Ok(random_uuid(env.arena, env.rng))
}

/// A version 4 UUID drawn from `rng` (States.UUID and JSONata's `$uuid`).
pub fn random_uuid<'a>(arena: &'a Bump, rng: &mut Rng) -> Value<'a> {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    arena.string(id.hyphenated().encode_lower(&mut buf))
}
