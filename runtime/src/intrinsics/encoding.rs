//! Encoding intrinsics: States.Base64Encode, Base64Decode, Hash, UUID.

use super::{want_str, Env, Failure, Result};
use crate::value::{to_json_string, ArenaExt, Value};
use base64::Engine as _;

/// AWS's input limits for the encoding functions (characters).
const MAX_BASE64_INPUT: usize = 10_000;
const MAX_HASH_INPUT: usize = 10_000;

pub fn base64_encode<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let s = want_str("States.Base64Encode", 0, args[0])?;
    if s.chars().count() > MAX_BASE64_INPUT {
        return Err(Failure::new(format!(
            "The input to States.Base64Encode must be at most {MAX_BASE64_INPUT} characters"
        )));
    }
    Ok(env.arena.string(&base64::engine::general_purpose::STANDARD.encode(s)))
}

pub fn base64_decode<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let s = want_str("States.Base64Decode", 0, args[0])?;
    if s.chars().count() > MAX_BASE64_INPUT {
        return Err(Failure::new(format!(
            "The input to States.Base64Decode must be at most {MAX_BASE64_INPUT} characters"
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| Failure::new(format!("The input to States.Base64Decode is not valid base64: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::new("The input to States.Base64Decode does not decode to UTF-8 text"))?;
    Ok(env.arena.string(&text))
}

/// `States.Hash(data, algorithm)`: lowercase hex digest. Non-string data is hashed as its JSON text.
pub fn hash<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    use sha2::Digest;
    let owned;
    let data = match args[0] {
        Value::Str(s) => s,
        Value::Null => return Err(Failure::new("The first argument of States.Hash must not be null")),
        other => {
            owned = to_json_string(&other);
            &owned
        }
    };
    if data.chars().count() > MAX_HASH_INPUT {
        return Err(Failure::new(format!("The input to States.Hash must be at most {MAX_HASH_INPUT} characters")));
    }
    let algorithm = want_str("States.Hash", 1, args[1])?;
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        other => {
            return Err(Failure::new(format!(
                "The hashing algorithm '{other}' is not supported; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
            )))
        }
    };
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    Ok(env.arena.string(&hex))
}

/// `States.UUID()`: a version 4 UUID from the execution's seedable random source.
pub fn uuid<'a>(env: &mut Env<'a, '_>, _: &[Value<'a>]) -> Result<Value<'a>> {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&env.rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&env.rng.next_u64().to_le_bytes());
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    Ok(env.arena.string(&id.hyphenated().to_string()))
}
