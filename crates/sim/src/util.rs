//! Small helpers: deterministic randomness, hashes, quantities, durations.

use std::fmt::Write as _;

use serde_json::Value;

/// A tiny deterministic generator (splitmix64): names and uids need no cryptographic quality.
#[derive(Debug, Clone)]
pub struct Rng(u64);

/// The alphabet Kubernetes uses for generated name suffixes (no vowels, no ambiguous digits).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A suffix such as `x7k2q` (as `generateName` produces).
    pub fn suffix(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| {
                let index = usize::try_from(self.next_u64() % NAME_ALPHABET.len() as u64).unwrap_or(0);
                char::from(NAME_ALPHABET[index])
            })
            .collect()
    }

    /// A random RFC 4122 version-4 shaped uid.
    pub fn uid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        let hex = format!("{a:016x}{b:016x}");
        format!("{}-{}-4{}-a{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
    }
}

/// FNV-1a over bytes with a seed.
fn fnv(seed: u64, bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A 32-hex-digit content hash (the shape of kubelet's `kubernetes.io/config.hash`).
pub fn content_hash(text: &str) -> String {
    format!("{:016x}{:016x}", fnv(1, text.as_bytes()), fnv(2, text.as_bytes()))
}

/// A short name-safe hash such as a pod-template-hash (`5d8f7c9b6d`).
pub fn name_hash(text: &str, len: usize) -> String {
    let mut value = fnv(3, text.as_bytes());
    let mut out = String::new();
    for _ in 0..len {
        let index = usize::try_from(value % NAME_ALPHABET.len() as u64).unwrap_or(0);
        out.push(char::from(NAME_ALPHABET[index]));
        value /= NAME_ALPHABET.len() as u64;
        if value == 0 {
            value = fnv(4, out.as_bytes());
        }
    }
    out
}

/// Parse a Kubernetes quantity (`100m`, `2`, `128Mi`, `1G`, `8152200Ki`) into base units.
pub fn parse_quantity(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => parse_quantity_str(s),
        _ => 0.0,
    }
}

fn parse_quantity_str(text: &str) -> f64 {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let base: f64 = number.parse().unwrap_or(0.0);
    let factor = match suffix {
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => 1.0,
    };
    base * factor
}

/// kubectl's `HumanDuration` (the AGE column).
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    let seconds = seconds.max(0);
    let minutes = seconds / 60;
    let hours = seconds / 3600;
    let mut out = String::new();
    if seconds < 120 {
        let _ = write!(out, "{seconds}s");
    } else if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            let _ = write!(out, "{minutes}m");
        } else {
            let _ = write!(out, "{minutes}m{s}s");
        }
    } else if minutes < 180 {
        let _ = write!(out, "{minutes}m");
    } else if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            let _ = write!(out, "{hours}h");
        } else {
            let _ = write!(out, "{hours}h{m}m");
        }
    } else if hours < 48 {
        let _ = write!(out, "{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            let _ = write!(out, "{}d", hours / 24);
        } else {
            let _ = write!(out, "{}d{h}h", hours / 24);
        }
    } else if hours < 24 * 365 * 2 {
        let _ = write!(out, "{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let _ = write!(out, "{}y{}d", hours / 24 / 365, (hours / 24) % 365);
    } else {
        let _ = write!(out, "{}y", hours / 24 / 365);
    }
    out
}

/// Follow a dotted path (`spec.nodeName`) into a JSON object.
pub fn get_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |current, key| current.get(key))
}

/// A string at a dotted path, or "".
pub fn str_at<'a>(value: &'a Value, path: &str) -> &'a str {
    get_path(value, path).and_then(Value::as_str).unwrap_or("")
}

/// Make sure `value[key]` is an object and return it.
pub fn object_entry<'a>(value: &'a mut Value, key: &str) -> &'a mut serde_json::Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(serde_json::Map::new());
    }
    let Value::Object(map) = value else { unreachable!("just made an object") };
    let entry = map.entry(key.to_owned()).or_insert_with(|| Value::Object(serde_json::Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(serde_json::Map::new());
    }
    match entry {
        Value::Object(inner) => inner,
        _ => unreachable!("just made an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse() {
        assert!((parse_quantity(&Value::from("100m")) - 0.1).abs() < 1e-9);
        assert!((parse_quantity(&Value::from("1Gi")) - 1_073_741_824.0).abs() < 1.0);
        assert!((parse_quantity(&Value::from("4")) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(3600 * 24 * 30), "30d");
    }

    #[test]
    fn uids_have_the_right_shape() {
        let uid = Rng::new(7).uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(uid.matches('-').count(), 4);
    }
}
