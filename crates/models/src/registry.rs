/// Which architecture (and task) a registered model is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// [`MnistLstm`](crate::MnistLstm) over image rows; input `[B, 28, 28]`.
    MnistLstm,
    /// [`MnistCnn`](crate::MnistCnn); input `[B, 1, 28, 28]`.
    MnistCnn,
    /// [`SmallCnn`](crate::SmallCnn); input `[B, 1, 28, 28]`.
    SmallCnn,
    /// [`Mlp`](crate::Mlp) fitting a curve with a mean-squared error; input `[B, 1]`.
    MlpRegression,
    /// [`Mlp`](crate::Mlp) classifying points; input `[B, 2]`.
    MlpClassification,
    /// [`LstmTagger`](crate::LstmTagger) tagging each word of a sentence; input word ids
    /// `Int [B, seq]`.
    LstmTagger,
}

/// One entry of the [`registry()`]: a model name a user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// The name used on the command line, e.g. `mnist-lstm`.
    pub name: &'static str,
    /// One line on what the model is and where it comes from.
    pub description: &'static str,
    /// Its architecture and task.
    pub kind: ModelKind,
}

const REGISTRY: &[ModelInfo] = &[
    ModelInfo {
        name: "mnist-lstm",
        description: "seed 001: MNIST rows as a 28-step sequence, 2-layer LSTM (hidden 128), last step -> Linear -> 10",
        kind: ModelKind::MnistLstm,
    },
    ModelInfo {
        name: "mnist-lstm-small",
        description: "seed 004: 1-layer LSTM (hidden 64) over MNIST rows, last step -> Linear -> 10",
        kind: ModelKind::MnistLstm,
    },
    ModelInfo {
        name: "mnist-cnn",
        description: "seed 000 / pytorch/examples: conv 20 -> conv 50 (5x5, max-pool 2) -> Linear 800-500-10",
        kind: ModelKind::MnistCnn,
    },
    ModelInfo {
        name: "small-cnn",
        description: "seed 004: conv 16 -> conv 32 (5x5 pad 2, max-pool 2) -> Linear 1568-10",
        kind: ModelKind::SmallCnn,
    },
    ModelInfo {
        name: "regression",
        description: "seed 004: MLP 1-10-1 fitting y = x^2 + noise (mean-squared error)",
        kind: ModelKind::MlpRegression,
    },
    ModelInfo {
        name: "classification",
        description: "seed 004: MLP 2-10-2 separating two Gaussian clusters (cross-entropy)",
        kind: ModelKind::MlpClassification,
    },
    ModelInfo {
        name: "pos-tagger",
        description: "seed 000: part-of-speech tagger, Embedding -> LSTM -> Linear -> log-softmax per word (UD English-EWT or the seed's toy)",
        kind: ModelKind::LstmTagger,
    },
];

/// Every model of the zoo, in the order `zoo models` prints them.
pub fn registry() -> &'static [ModelInfo] {
    REGISTRY
}

/// The registered model called `name`, if any.
pub fn find(name: &str) -> Option<&'static ModelInfo> {
    REGISTRY.iter().find(|info| info.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_findable() {
        for info in registry() {
            assert_eq!(find(info.name), Some(info));
        }
        let mut names: Vec<_> = registry().iter().map(|i| i.name).collect();
        names.dedup();
        assert_eq!(names.len(), registry().len());
        assert!(find("resnet-152").is_none());
    }
}
