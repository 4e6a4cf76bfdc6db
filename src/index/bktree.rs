//! [`BkTree`]: a Burkhard-Keller tree over Hamming distance.

use std::collections::BinaryHeap;
use std::fmt;

use super::slots::SlotTable;
use super::{HammingIndex, Hit, IndexKind};
use crate::Hash256;

const NIL: u32 = u32::MAX;

/// One entry; its children are a sibling list sorted by `edge`.
#[derive(Clone)]
struct Node {
    hash: Hash256,
    slot: u32,
    /// Distance to the parent (0 for the root).
    edge: u16,
    live: bool,
    first_child: u32,
    next_sibling: u32,
}

/// A Burkhard-Keller tree: each node's children are keyed by their distance to it, and the
/// triangle inequality prunes the children that cannot hold a hit.
///
/// One node per entry, in an arena addressed by `u32` indices; a node's children form a
/// sibling list sorted by that distance (two links per node instead of a 257-way table).
/// Duplicate hashes are chained as children at distance 0, so every slot is kept and reported.
///
/// Removal leaves a tombstone: the node keeps routing queries but is no longer reported. When
/// tombstones outnumber live entries (and there are at least 64), the tree is rebuilt from the
/// live entries. Insertion is `O(depth)`; bulk building inserts one entry after another, then
/// renumbers the nodes breadth-first so that siblings are adjacent (rebuilds do the same).
///
/// Exact, but measured slower than [`super::LinearScan`] in every case the project looked at
/// (see the module documentation): kept for comparison, not recommended.
#[derive(Clone, Default)]
pub struct BkTree {
    nodes: Vec<Node>,
    positions: SlotTable,
    dead: usize,
}

impl BkTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of removed entries still in the tree as tombstones.
    pub fn tombstones(&self) -> usize {
        self.dead
    }

    /// Rebuilds the tree from its live entries, dropping every tombstone.
    pub fn rebuild(&mut self) {
        let live: Vec<(u32, Hash256)> = self
            .nodes
            .iter()
            .filter(|n| n.live)
            .map(|n| (n.slot, n.hash))
            .collect();
        *self = Self::new();
        self.nodes.reserve(live.len());
        for (slot, hash) in live {
            self.insert(slot, hash);
        }
        self.relayout();
    }

    /// Renumbers the nodes in breadth-first order, so that each node's children are adjacent
    /// in the arena and a query walks memory mostly forwards.
    fn relayout(&mut self) {
        if self.nodes.is_empty() {
            return;
        }
        let mut order: Vec<u32> = Vec::with_capacity(self.nodes.len());
        order.push(0);
        let mut head = 0;
        while head < order.len() {
            let mut child = self.nodes[order[head] as usize].first_child;
            head += 1;
            while child != NIL {
                order.push(child);
                child = self.nodes[child as usize].next_sibling;
            }
        }
        let mut renamed = vec![NIL; self.nodes.len()];
        for (new, &old) in order.iter().enumerate() {
            renamed[old as usize] = new as u32;
        }
        let rename = |link: u32| {
            if link == NIL {
                NIL
            } else {
                renamed[link as usize]
            }
        };
        let nodes: Vec<Node> = order
            .iter()
            .map(|&old| {
                let mut node = self.nodes[old as usize].clone();
                node.first_child = rename(node.first_child);
                node.next_sibling = rename(node.next_sibling);
                node
            })
            .collect();
        for (index, node) in nodes.iter().enumerate() {
            if node.live {
                self.positions.insert(node.slot, index as u32);
            }
        }
        self.nodes = nodes;
    }

    /// Approximate heap memory in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>() + self.positions.heap_bytes()
    }

    /// Adds a node for `(slot, hash)` and returns its index.
    fn add_node(&mut self, slot: u32, hash: Hash256) -> u32 {
        let new = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&n| n != NIL)
            .expect("index full");
        let mut node = Node {
            hash,
            slot,
            edge: 0,
            live: true,
            first_child: NIL,
            next_sibling: NIL,
        };
        if self.nodes.is_empty() {
            self.nodes.push(node);
            return new;
        }
        let mut parent = 0usize;
        loop {
            let edge = hash.distance(&self.nodes[parent].hash) as u16;
            let mut prev = NIL;
            let mut child = self.nodes[parent].first_child;
            while child != NIL && self.nodes[child as usize].edge < edge {
                prev = child;
                child = self.nodes[child as usize].next_sibling;
            }
            if child != NIL && self.nodes[child as usize].edge == edge {
                parent = child as usize;
                continue;
            }
            node.edge = edge;
            node.next_sibling = child;
            self.nodes.push(node);
            if prev == NIL {
                self.nodes[parent].first_child = new;
            } else {
                self.nodes[prev as usize].next_sibling = new;
            }
            return new;
        }
    }

    /// Calls `visit(node)` for the children of `node` whose edge lies within `d ± tau`, the
    /// only ones that can hold an entry within `tau` of the query (`d` = query to `node`).
    /// `visit` gets the child and the lower bound `|d - edge|` on its distance to the query.
    fn for_children_within(&self, node: usize, d: u32, tau: u32, mut visit: impl FnMut(u32, u32)) {
        let mut child = self.nodes[node].first_child;
        while child != NIL {
            let c = &self.nodes[child as usize];
            let edge = u32::from(c.edge);
            if edge > d + tau {
                break;
            }
            let bound = d.abs_diff(edge);
            if bound <= tau {
                visit(child, bound);
            }
            child = c.next_sibling;
        }
    }
}

impl fmt::Debug for BkTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BkTree")
            .field("len", &self.len())
            .field("tombstones", &self.dead)
            .finish()
    }
}

impl FromIterator<(u32, Hash256)> for BkTree {
    fn from_iter<I: IntoIterator<Item = (u32, Hash256)>>(iter: I) -> Self {
        let mut index = Self::new();
        for (slot, hash) in iter {
            index.insert(slot, hash);
        }
        index.relayout();
        index
    }
}

impl HammingIndex for BkTree {
    fn kind(&self) -> IndexKind {
        IndexKind::BkTree
    }

    fn len(&self) -> usize {
        self.positions.len()
    }

    fn heap_bytes(&self) -> usize {
        BkTree::heap_bytes(self)
    }

    fn get(&self, slot: u32) -> Option<Hash256> {
        self.positions
            .get(slot)
            .map(|node| self.nodes[node as usize].hash)
    }

    fn insert(&mut self, slot: u32, hash: Hash256) -> Option<Hash256> {
        let old = self.get(slot);
        if old.is_some() {
            self.remove(slot);
        }
        let node = self.add_node(slot, hash);
        self.positions.insert(slot, node);
        old
    }

    fn remove(&mut self, slot: u32) -> bool {
        let Some(node) = self.positions.remove(slot) else {
            return false;
        };
        self.nodes[node as usize].live = false;
        self.dead += 1;
        if self.dead >= 64 && self.dead > self.positions.len() {
            self.rebuild();
        }
        true
    }

    fn radius(&self, query: &Hash256, r: u32) -> Vec<Hit> {
        // No distance exceeds 256; clamping keeps `d + r` below overflow.
        let r = r.min(Hash256::BITS);
        let mut hits = Vec::new();
        if self.nodes.is_empty() {
            return hits;
        }
        let mut stack = vec![0u32];
        while let Some(node) = stack.pop() {
            let n = &self.nodes[node as usize];
            let d = query.distance(&n.hash);
            if n.live && d <= r {
                hits.push(Hit {
                    distance: d,
                    slot: n.slot,
                });
            }
            self.for_children_within(node as usize, d, r, |child, _| stack.push(child));
        }
        hits.sort_unstable();
        hits
    }

    fn knn(&self, query: &Hash256, k: usize) -> Vec<Hit> {
        if k == 0 || self.nodes.is_empty() {
            return Vec::new();
        }
        // The best k so far (max-heap); `tau` is the distance to beat once it is full. Ties at
        // `tau` may still win on slot, so pruning keeps everything within `tau` inclusive.
        let mut best: BinaryHeap<Hit> = BinaryHeap::new();
        let mut tau = Hash256::BITS;
        let mut stack = vec![(0u32, 0u32)];
        while let Some((node, bound)) = stack.pop() {
            if bound > tau {
                continue;
            }
            let n = &self.nodes[node as usize];
            let d = query.distance(&n.hash);
            if n.live {
                let hit = Hit {
                    distance: d,
                    slot: n.slot,
                };
                if best.len() < k {
                    best.push(hit);
                } else if hit < *best.peek().expect("k > 0") {
                    best.pop();
                    best.push(hit);
                }
                if best.len() == k {
                    tau = best.peek().expect("k > 0").distance;
                }
            }
            self.for_children_within(node as usize, d, tau, |child, bound| {
                stack.push((child, bound))
            });
        }
        best.into_sorted_vec()
    }
}
