//! [`PrefixCache`]: residual streams entering block j, keyed by which of blocks 0..j-1 ran.
//!
//! The stream entering block j depends only on the input batch and on which of the blocks
//! before j ran, so any two masks that agree on blocks 0..j-1 share it. Evaluating a mask starts
//! from the deepest cached prefix it shares and caches what it computes on the way. Memory is
//! bounded by a byte budget with least-recently-used eviction.

use std::collections::HashMap;

use candle_core::Tensor;

use crate::model::BlockMask;

/// Default budget: room for every depth of a few dozen masks of a CPU-sized workload.
pub const DEFAULT_BUDGET_BYTES: usize = 3 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    batch: u32,
    depth: u16,
    /// Bit i set: block i ran (only bits below `depth` are kept).
    prefix: u128,
}

struct Entry {
    state: Tensor,
    bytes: usize,
    last_used: u64,
}

pub struct PrefixCache {
    entries: HashMap<Key, Entry>,
    budget: usize,
    used: usize,
    peak: usize,
    clock: u64,
    pub evictions: u64,
}

/// The bits of `mask` below `depth`.
fn prefix_bits(mask: &BlockMask, depth: usize) -> u128 {
    (0..depth)
        .filter(|&i| mask.is_kept(i))
        .fold(0u128, |bits, i| bits | (1u128 << i))
}

impl PrefixCache {
    pub const MAX_BLOCKS: usize = 128;

    pub fn new(budget_bytes: usize) -> Self {
        Self {
            entries: HashMap::new(),
            budget: budget_bytes,
            used: 0,
            peak: 0,
            clock: 0,
            evictions: 0,
        }
    }

    /// The deepest cached stream for `batch` that `mask` shares, as `(depth, state)`; depth 0
    /// (nothing cached) is `None`.
    pub fn deepest(&mut self, batch: usize, mask: &BlockMask) -> Option<(usize, Tensor)> {
        self.clock += 1;
        for depth in (1..=mask.n_blocks()).rev() {
            let key = Key {
                batch: batch as u32,
                depth: depth as u16,
                prefix: prefix_bits(mask, depth),
            };
            if let Some(e) = self.entries.get_mut(&key) {
                e.last_used = self.clock;
                return Some((depth, e.state.clone()));
            }
        }
        None
    }

    /// Caches the stream entering block `depth` under `mask`'s prefix, evicting the least
    /// recently used streams if the budget requires. A stream larger than the whole budget is
    /// not cached.
    pub fn insert(&mut self, batch: usize, depth: usize, mask: &BlockMask, state: &Tensor) {
        let key = Key {
            batch: batch as u32,
            depth: depth as u16,
            prefix: prefix_bits(mask, depth),
        };
        if self.entries.contains_key(&key) {
            return;
        }
        let bytes = state.elem_count() * state.dtype().size_in_bytes();
        if bytes > self.budget {
            return;
        }
        while self.used + bytes > self.budget {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| *k);
            let Some(k) = oldest else { break };
            let e = self.entries.remove(&k).expect("present");
            self.used -= e.bytes;
            self.evictions += 1;
        }
        self.clock += 1;
        self.entries.insert(
            key,
            Entry {
                state: state.clone(),
                bytes,
                last_used: self.clock,
            },
        );
        self.used += bytes;
        self.peak = self.peak.max(self.used);
    }

    pub fn bytes_used(&self) -> usize {
        self.used
    }

    pub fn peak_bytes(&self) -> usize {
        self.peak
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn state(v: f32) -> Tensor {
        Tensor::full(v, (1, 4), &Device::Cpu).unwrap()
    }

    #[test]
    fn finds_the_deepest_shared_prefix() {
        let mut c = PrefixCache::new(1 << 20);
        let full = BlockMask::full(4);
        for d in 1..=4 {
            c.insert(0, d, &full, &state(d as f32));
        }
        // Removing block 2 shares blocks 0..2 with the full model: depth 2.
        let m = BlockMask::with_removed(4, &[2]).unwrap();
        let (depth, s) = c.deepest(0, &m).unwrap();
        assert_eq!(depth, 2);
        assert_eq!(s.to_vec2::<f32>().unwrap()[0][0], 2.0);
        // Another batch has nothing cached.
        assert!(c.deepest(1, &m).is_none());
        // Removing block 0 shares nothing.
        assert!(c
            .deepest(0, &BlockMask::with_removed(4, &[0]).unwrap())
            .is_none());
    }

    #[test]
    fn evicts_least_recently_used_within_budget() {
        let one = 16; // 4 f32
        let mut c = PrefixCache::new(2 * one);
        let full = BlockMask::full(4);
        c.insert(0, 1, &full, &state(1.0));
        c.insert(0, 2, &full, &state(2.0));
        // Touch depth 1 (via a mask sharing only depth 1), then insert a third: depth 2 goes.
        assert_eq!(
            c.deepest(0, &BlockMask::with_removed(4, &[1]).unwrap())
                .unwrap()
                .0,
            1
        );
        c.insert(0, 3, &full, &state(3.0));
        assert_eq!(c.len(), 2);
        assert_eq!(c.bytes_used(), 2 * one);
        assert_eq!(c.evictions, 1);
        assert_eq!(
            c.deepest(0, &BlockMask::with_removed(4, &[2]).unwrap())
                .unwrap()
                .0,
            1
        );
    }
}
