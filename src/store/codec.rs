//! The one module that speaks bincode (pinned at 2.0.1: upstream is
//! unmaintained, RUSTSEC-2025-0141). Its encoding is frozen by the golden
//! index file in tests/data; swapping the codec means a new format version.

use serde::de::DeserializeOwned;
use serde::Serialize;

fn config() -> impl bincode::config::Config {
    // Fixed-width little-endian integers: the byte layout is then obvious in
    // a hex dump, and a limit stops a hostile length prefix from allocating
    // more than the section could hold.
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<{ 1 << 32 }>()
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, config()).expect("in-memory encoding cannot fail")
}

/// Decodes a whole section; trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, used) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|e| e.to_string())?;
    if used != bytes.len() {
        return Err(format!("{} unexpected trailing bytes", bytes.len() - used));
    }
    Ok(value)
}
