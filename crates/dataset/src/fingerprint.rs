//! Text fingerprints for duplicate search: a hash of the normalised text for exact duplicates, and a
//! MinHash signature over word 3-shingles with LSH band keys for near duplicates (Broder 1997; the
//! banding of Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets*, ch. 3).
//!
//! The hashes are stored in the project database, so they must never change between builds: they are
//! FNV-1a and the SplitMix64 finaliser, written out here rather than taken from `std`, whose hasher
//! may change.

use grimoire_store::table::examples::{Fingerprint, Message, Role};

/// Hashes in a signature.
pub const SIGNATURE_LEN: usize = 32;
/// Rows per LSH band: 8 bands of 4 make two texts with Jaccard similarity 0.8 share a band with
/// probability 0.98, and texts at 0.3 only 6% of the time.
pub const BAND_ROWS: usize = 4;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a over bytes, folded into a running state.
pub(crate) fn fnv(state: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(state, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

/// SplitMix64's finaliser: spreads every input bit over the output.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stable 64-bit hash of a string.
pub(crate) fn hash_str(s: &str) -> u64 {
    mix(fnv(FNV_OFFSET, s.as_bytes()))
}

/// The words of a text, lower-cased, punctuation dropped: what both hashes see, so "Yes, sir!" and
/// "yes sir" are the same text.
pub fn normalised_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// The words of the conversation turns (not the system prompt, which many examples share), each turn
/// prefixed by its role so that the same words said by the other side do not count as a duplicate.
fn conversation_words(messages: &[Message]) -> Vec<String> {
    let mut words = Vec::new();
    for m in messages {
        match m.role {
            Role::System => continue,
            Role::User => words.push("\u{1}u".to_string()),
            Role::Assistant => words.push("\u{1}a".to_string()),
        }
        words.extend(normalised_words(&m.content));
    }
    words
}

/// The fingerprint of a conversation.
pub fn fingerprint(messages: &[Message]) -> Fingerprint {
    let words = conversation_words(messages);
    let exact = words.iter().fold(FNV_OFFSET, |h, w| fnv(fnv(h, w.as_bytes()), b" "));
    let shingles: Vec<u64> = if words.len() < 3 {
        words.iter().map(|w| hash_str(w)).collect()
    } else {
        words.windows(3).map(|w| mix(fnv(fnv(fnv(FNV_OFFSET, w[0].as_bytes()), w[1].as_bytes()), w[2].as_bytes()))).collect()
    };
    let mut signature = vec![u32::MAX; SIGNATURE_LEN];
    for s in &shingles {
        for (i, slot) in signature.iter_mut().enumerate() {
            // One hash function per slot: the shingle's hash re-mixed with the slot's own constant.
            let h = (mix(s ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 32) as u32;
            *slot = (*slot).min(h);
        }
    }
    let bands = if shingles.is_empty() {
        Vec::new()
    } else {
        signature
            .chunks(BAND_ROWS)
            .enumerate()
            .map(|(band, rows)| {
                let h = rows.iter().fold(fnv(FNV_OFFSET, &(band as u64).to_le_bytes()), |h, r| fnv(h, &r.to_le_bytes()));
                mix(h) as i64
            })
            .collect()
    };
    Fingerprint { exact: mix(exact) as i64, signature, bands }
}

/// The estimated Jaccard similarity of the shingle sets behind two signatures.
pub fn similarity(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(user: &str, assistant: &str) -> Vec<Message> {
        vec![Message::new(Role::User, user), Message::new(Role::Assistant, assistant)]
    }

    #[test]
    fn exact_hash_ignores_case_spacing_punctuation_and_the_system_prompt() {
        let a = fingerprint(&conv("Will you dance?", "No, sir: I will not."));
        let mut b_msgs = conv("will  you dance", "no sir I will NOT");
        b_msgs.insert(0, Message::new(Role::System, "You are Elizabeth."));
        assert_eq!(a.exact, fingerprint(&b_msgs).exact);
        assert_ne!(a.exact, fingerprint(&conv("No, sir: I will not.", "Will you dance?")).exact);
    }

    #[test]
    fn near_duplicates_score_high_and_share_a_band() {
        let text = "I have been meditating on the very great pleasure which a pair of fine eyes in the face of a pretty woman can bestow, and I shall not apologise for it to anyone in this room tonight";
        let a = fingerprint(&conv("What are you thinking of?", text));
        let b = fingerprint(&conv("What are you thinking of?", &text.replace("tonight", "this evening")));
        let c = fingerprint(&conv("Shall we walk?", "The weather is fine and the road to Meryton is dry enough for a walk."));
        assert!(similarity(&a.signature, &b.signature) >= 0.7, "{}", similarity(&a.signature, &b.signature));
        assert!(similarity(&a.signature, &c.signature) < 0.3);
        assert!(a.bands.iter().any(|x| b.bands.contains(x)));
        assert_eq!(a.bands.len(), SIGNATURE_LEN / BAND_ROWS);
    }

    #[test]
    fn hashes_are_stable_across_builds() {
        // Stored in project files: a change here would silently break duplicate search in old projects.
        assert_eq!(hash_str("grimoire"), 0xe4ec_79c9_0579_b24c);
    }
}
