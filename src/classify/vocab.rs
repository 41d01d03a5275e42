//! The stems the rules use, numbered once for every thread: what
//! [`crate::classify::words`] turns the words of a text into. A text's other
//! words are all [`UNKNOWN`], so that reading mail never grows it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, RwLock};

/// A stem, by its number in the vocabulary: the stems the rules use are
/// numbered when the rules are read ([`crate::classify::words::phrase`]); a text's other words are
/// all [`UNKNOWN`], so that reading mail never grows the vocabulary.
pub type Sym = u32;
/// A stem no rule uses.
pub const UNKNOWN: Sym = Sym::MAX;

/// The stems the rules use, numbered; shared by every thread.
#[derive(Default)]
struct Vocab {
    ids: foldhash::HashMap<String, Sym>,
    names: Vec<String>,
}

static VOCAB: LazyLock<RwLock<Vocab>> = LazyLock::new(Default::default);
/// Changes whenever a stem is added: the threads' caches start afresh.
pub(super) static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The number of a stem, added to the vocabulary if it is new.
pub(super) fn intern(stem: String) -> Sym {
    if let Some(&id) = VOCAB
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .ids
        .get(&stem)
    {
        return id;
    }
    let mut v = VOCAB.write().unwrap_or_else(|e| e.into_inner());
    if let Some(&id) = v.ids.get(&stem) {
        return id;
    }
    let id = v.names.len() as Sym;
    v.names.push(stem.clone());
    v.ids.insert(stem, id);
    GENERATION.fetch_add(1, Ordering::Release);
    id
}

/// The number of a stem the rules use, or [`UNKNOWN`].
pub(super) fn known(stem: &str) -> Sym {
    VOCAB
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .ids
        .get(stem)
        .copied()
        .unwrap_or(UNKNOWN)
}

/// The stem a number stands for, for tests.
#[cfg(test)]
pub fn name(sym: Sym) -> String {
    let v = VOCAB.read().unwrap_or_else(|e| e.into_inner());
    v.names
        .get(sym as usize)
        .cloned()
        .unwrap_or_else(|| "?".into())
}
