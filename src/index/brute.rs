//! [`BruteForce`]: the trivially correct oracle the other indexes are tested against.

use super::{HammingIndex, Hit, IndexKind};
use crate::Hash256;

/// A list of `(slot, hash)` pairs searched by computing every distance and sorting.
///
/// Obviously correct and obviously slow; it exists so that tests (here and downstream) can
/// compare the real indexes with it. Not part of [`IndexKind`]: use [`super::LinearScan`] for
/// an exhaustive search in production.
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct BruteForce {
    entries: Vec<(u32, Hash256)>,
}

impl BruteForce {
    /// An empty oracle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored hit at any distance, sorted.
    fn all(&self, query: &Hash256) -> Vec<Hit> {
        let mut hits: Vec<Hit> = self
            .entries
            .iter()
            .map(|&(slot, hash)| Hit {
                distance: query.distance(&hash),
                slot,
            })
            .collect();
        hits.sort();
        hits
    }
}

impl FromIterator<(u32, Hash256)> for BruteForce {
    fn from_iter<I: IntoIterator<Item = (u32, Hash256)>>(iter: I) -> Self {
        let mut index = Self::new();
        for (slot, hash) in iter {
            index.insert(slot, hash);
        }
        index
    }
}

impl HammingIndex for BruteForce {
    /// Reports [`IndexKind::Linear`]: the oracle is a (slow) linear scan.
    fn kind(&self) -> IndexKind {
        IndexKind::Linear
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<(u32, Hash256)>()
    }

    fn get(&self, slot: u32) -> Option<Hash256> {
        self.entries
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|&(_, hash)| hash)
    }

    fn insert(&mut self, slot: u32, hash: Hash256) -> Option<Hash256> {
        let old = self.get(slot);
        self.remove(slot);
        self.entries.push((slot, hash));
        old
    }

    fn remove(&mut self, slot: u32) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(s, _)| *s != slot);
        self.entries.len() != before
    }

    fn radius(&self, query: &Hash256, r: u32) -> Vec<Hit> {
        let mut hits = self.all(query);
        hits.retain(|hit| hit.distance <= r);
        hits
    }

    fn knn(&self, query: &Hash256, k: usize) -> Vec<Hit> {
        let mut hits = self.all(query);
        hits.truncate(k);
        hits
    }
}
