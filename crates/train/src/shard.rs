//! A node's share of the training set in a multi-node run (the whole set on a single node).

use burn::data::dataset::Dataset;

/// The training items of node `rank` of `nodes`: every `nodes`-th item from `rank` on, the set
/// first cut to a multiple of `nodes` so every node takes the same number of steps.
#[derive(Clone)]
pub struct Shard<D> {
    inner: D,
    nodes: usize,
    rank: usize,
    len: usize,
}

impl<D> Shard<D> {
    /// Node `rank`'s share of `inner`, which holds `total` items.
    pub fn new(inner: D, total: usize, nodes: usize, rank: usize) -> Self {
        Self {
            inner,
            nodes,
            rank,
            len: total / nodes,
        }
    }
}

impl<I, D: Dataset<I>> Dataset<I> for Shard<D> {
    fn get(&self, index: usize) -> Option<I> {
        (index < self.len)
            .then(|| self.inner.get(index * self.nodes + self.rank))
            .flatten()
    }

    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_equal_and_cover_all_but_the_remainder() {
        let items: Vec<usize> = (0..11).collect();
        let data = burn::data::dataset::InMemDataset::new(items);
        let a = Shard::new(data.clone(), 11, 2, 0);
        let b = Shard::new(data, 11, 2, 1);
        let a: Vec<usize> = (0..a.len()).map(|i| a.get(i).unwrap()).collect();
        let b: Vec<usize> = (0..b.len()).map(|i| b.get(i).unwrap()).collect();
        assert_eq!(a, [0, 2, 4, 6, 8]);
        assert_eq!(b, [1, 3, 5, 7, 9]);
    }

    #[test]
    fn one_node_holds_everything() {
        let data = burn::data::dataset::InMemDataset::new((0..7).collect::<Vec<usize>>());
        let all = Shard::new(data, 7, 1, 0);
        assert_eq!((0..all.len()).map(|i| all.get(i).unwrap()).collect::<Vec<_>>(), (0..7).collect::<Vec<_>>());
        assert_eq!(all.get(7), None);
    }
}
