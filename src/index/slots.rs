//! Slot -> internal position table shared by the indexes.

use std::collections::HashMap;

const EMPTY: u32 = u32::MAX;

/// Maps caller-chosen slots to an index's internal positions.
///
/// Slots are expected to be dense (`0..n`, as the matcher hands them out): those live in a plain
/// array, 4 bytes per slot up to the largest one. A slot far beyond the number of entries (more
/// than `2 * len + 1024`) goes to a hash map instead, so a stray `u32::MAX` costs a few bytes
/// rather than 16 GB.
#[derive(Clone, Default)]
pub(crate) struct SlotTable {
    dense: Vec<u32>,
    sparse: HashMap<u32, u32>,
    len: usize,
}

impl SlotTable {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, slot: u32) -> Option<u32> {
        match self.dense.get(slot as usize) {
            Some(&pos) => (pos != EMPTY).then_some(pos),
            None => self.sparse.get(&slot).copied(),
        }
    }

    /// Sets the slot's position; returns the previous one.
    pub(crate) fn insert(&mut self, slot: u32, pos: u32) -> Option<u32> {
        assert!(pos != EMPTY, "an index holds at most u32::MAX - 1 entries");
        let s = slot as usize;
        if s >= self.dense.len() && s <= 2 * self.len + 1024 {
            self.grow(s + 1);
        }
        let old = match self.dense.get_mut(s) {
            Some(p) => {
                let old = std::mem::replace(p, pos);
                (old != EMPTY).then_some(old)
            }
            None => self.sparse.insert(slot, pos),
        };
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Forgets the slot; returns its position.
    pub(crate) fn remove(&mut self, slot: u32) -> Option<u32> {
        let old = match self.dense.get_mut(slot as usize) {
            Some(p) => {
                let old = std::mem::replace(p, EMPTY);
                (old != EMPTY).then_some(old)
            }
            None => self.sparse.remove(&slot),
        };
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    fn grow(&mut self, min_len: usize) {
        let new_len = min_len.max(self.dense.len() * 3 / 2);
        self.dense.resize(new_len, EMPTY);
        if !self.sparse.is_empty() {
            let dense = &mut self.dense;
            self.sparse
                .retain(|&slot, &mut pos| match dense.get_mut(slot as usize) {
                    Some(p) => {
                        *p = pos;
                        false
                    }
                    None => true,
                });
        }
    }

    /// Approximate heap bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.dense.capacity() * 4 + self.sparse.capacity() * 9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_sparse_and_migration() {
        let mut t = SlotTable::default();
        assert_eq!(t.insert(u32::MAX, 7), None);
        assert_eq!(t.insert(3000, 1), None); // beyond 2 * len + 1024: sparse
        assert_eq!(t.get(3000), Some(1));
        for s in 0..2000 {
            t.insert(s, s + 10);
        }
        // Dense has grown over 3000: the sparse entry moved and is still found.
        assert_eq!(t.get(3000), Some(1));
        assert_eq!(t.get(u32::MAX), Some(7));
        assert_eq!(t.insert(3000, 2), Some(1));
        assert_eq!(t.len(), 2002);
        assert_eq!(t.remove(3000), Some(2));
        assert_eq!(t.remove(3000), None);
        assert_eq!(t.remove(u32::MAX), Some(7));
        assert_eq!(t.get(5), Some(15));
        assert_eq!(t.len(), 2000);
    }
}
