//! A node's share of the training set in a multi-node run.
//!
//! Every node shuffles the whole training set with the run's seed, so all nodes draw the same
//! sequence of global batches, the batches a single process would draw; node `rank` of `nodes`
//! keeps the `rank`-th of `nodes` equal slices of each global batch ([`ShardBatcher`]). The nodes'
//! shares of a step are disjoint, their union is the global batch, and the mean of their mean
//! gradients is the global batch's mean gradient: N nodes train as one process with the same
//! global batch would, up to the order of float additions.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::Backend;

/// The first `len` items of a dataset: the training set cut to a multiple of the node count, so
/// that every global batch, the last included, splits into equal slices.
#[derive(Clone)]
pub struct Cut<D> {
    inner: D,
    len: usize,
}

impl<D> Cut<D> {
    /// `inner`, which holds `total` items, cut to a multiple of `nodes`.
    pub fn new(inner: D, total: usize, nodes: usize) -> Self {
        Self {
            inner,
            len: total - total % nodes.max(1),
        }
    }
}

impl<I, D: Dataset<I>> Dataset<I> for Cut<D> {
    fn get(&self, index: usize) -> Option<I> {
        (index < self.len).then(|| self.inner.get(index)).flatten()
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// Batches node `rank`'s slice of each global batch with the model's own batcher.
#[derive(Clone)]
pub struct ShardBatcher<Bt> {
    inner: Bt,
    nodes: usize,
    rank: usize,
}

impl<Bt> ShardBatcher<Bt> {
    /// Node `rank` of `nodes` (`nodes` = 1: the whole batch).
    pub fn new(inner: Bt, nodes: usize, rank: usize) -> Self {
        Self { inner, nodes, rank }
    }
}

/// The `rank`-th of `nodes` equal slices of `items` (`items.len()` is a multiple of `nodes`).
fn slice_of<I>(mut items: Vec<I>, nodes: usize, rank: usize) -> Vec<I> {
    let share = items.len() / nodes;
    items.truncate((rank + 1) * share);
    items.split_off(rank * share)
}

impl<B: Backend, I, O, Bt: Batcher<B, I, O>> Batcher<B, I, O> for ShardBatcher<Bt> {
    fn batch(&self, items: Vec<I>, device: &B::Device) -> O {
        let items = match self.nodes {
            0 | 1 => items,
            nodes => slice_of(items, nodes, self.rank),
        };
        self.inner.batch(items, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::data::dataloader::DataLoaderBuilder;
    use burn::data::dataset::InMemDataset;

    type Cpu = burn::backend::NdArray;

    /// Returns the item numbers of a batch, so the loader's batches can be compared.
    #[derive(Clone)]
    struct Ids;
    impl Batcher<Cpu, usize, Vec<usize>> for Ids {
        fn batch(&self, items: Vec<usize>, _: &burn::tensor::Device<Cpu>) -> Vec<usize> {
            items
        }
    }

    fn batches(nodes: usize, rank: usize, total: usize, batch: usize) -> Vec<Vec<usize>> {
        let data = Cut::new(
            InMemDataset::new((0..total).collect::<Vec<_>>()),
            total,
            nodes,
        );
        let loader = DataLoaderBuilder::<Cpu, _, _>::new(ShardBatcher::new(Ids, nodes, rank))
            .batch_size(batch)
            .shuffle(7)
            .build(data);
        loader.iter().collect()
    }

    #[test]
    fn the_nodes_slices_are_disjoint_equal_and_make_up_the_single_process_batches() {
        // 23 items, 2 nodes: cut to 22; global batch 6 → 3 batches of 6 and one of 4.
        let single = batches(1, 0, 22, 6);
        let (a, b) = (batches(2, 0, 23, 6), batches(2, 1, 23, 6));
        assert_eq!(single.len(), 4);
        assert_eq!((a.len(), b.len()), (4, 4));
        for ((whole, a), b) in single.iter().zip(&a).zip(&b) {
            assert_eq!(a.len(), b.len(), "equal shares");
            let joined: Vec<usize> = a.iter().chain(b).copied().collect();
            assert_eq!(
                &joined, whole,
                "node 0's slice, then node 1's, is the global batch"
            );
        }
        let mut seen: Vec<usize> = a.concat().into_iter().chain(b.concat()).collect();
        seen.sort();
        assert_eq!(
            seen,
            (0..22).collect::<Vec<_>>(),
            "each item once per epoch"
        );
    }

    #[test]
    fn one_node_keeps_every_item_and_every_batch_whole() {
        let data = Cut::new(InMemDataset::new((0..7).collect::<Vec<usize>>()), 7, 1);
        assert_eq!(data.len(), 7);
        assert_eq!(data.get(7), None);
        assert_eq!(slice_of((0..6).collect(), 3, 2), [4, 5]);
        assert_eq!(batches(1, 0, 7, 3).concat().len(), 7);
    }
}
