//! MNIST-format datasets (MNIST, Fashion-MNIST) read from a folder of the four standard IDX files.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;

use crate::batch::class_tensor;
use crate::idx::{read_idx, IdxError, IdxKind, IMAGE_PIXELS, IMAGE_SIDE};
use crate::ClassificationBatch;

/// Mean of MNIST's training pixels scaled to `[0, 1]`, as in `transforms.Normalize((0.1307,), ...)`.
pub const MNIST_MEAN: f32 = 0.1307;
/// Standard deviation of MNIST's training pixels scaled to `[0, 1]`.
pub const MNIST_STD: f32 = 0.3081;

/// Which of the two halves of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MnistSplit {
    /// `train-*` files (60,000 images in the full sets).
    Train,
    /// `t10k-*` files (10,000 images).
    Test,
}

impl MnistSplit {
    fn stems(self) -> [(&'static str, IdxKind); 2] {
        match self {
            MnistSplit::Train => [
                ("train-images-idx3-ubyte", IdxKind::Images),
                ("train-labels-idx1-ubyte", IdxKind::Labels),
            ],
            MnistSplit::Test => [
                ("t10k-images-idx3-ubyte", IdxKind::Images),
                ("t10k-labels-idx1-ubyte", IdxKind::Labels),
            ],
        }
    }
}

/// Which dataset of the MNIST format the files hold; decides the class names. In configs:
/// `"mnist"` or `"fashion-mnist"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MnistVariant {
    /// Handwritten digits 0–9.
    #[default]
    Mnist,
    /// Zalando's Fashion-MNIST: ten kinds of clothing.
    FashionMnist,
}

impl MnistVariant {
    /// Every variant, in the order the command line lists them.
    pub const ALL: [MnistVariant; 2] = [MnistVariant::Mnist, MnistVariant::FashionMnist];

    /// The name used on the command line and in configs: `mnist` or `fashion-mnist`.
    pub fn name(self) -> &'static str {
        match self {
            MnistVariant::Mnist => "mnist",
            MnistVariant::FashionMnist => "fashion-mnist",
        }
    }

    /// The variant called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The ten class names, by label.
    pub fn class_names(self) -> [&'static str; 10] {
        match self {
            MnistVariant::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            MnistVariant::FashionMnist => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        }
    }
}

impl fmt::Display for MnistVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One image and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistItem {
    /// 28×28 grey levels, row-major, 0 = background.
    pub pixels: [u8; IMAGE_PIXELS],
    /// The class, `0..=9`.
    pub label: u8,
}

/// A validated MNIST-format split held in memory; cheap to clone and to cut into views.
#[derive(Clone)]
pub struct MnistDataset {
    pixels: Arc<[u8]>,
    labels: Arc<[u8]>,
    start: usize,
    len: usize,
}

impl fmt::Debug for MnistDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MnistDataset")
            .field("start", &self.start)
            .field("len", &self.len)
            .finish()
    }
}

impl MnistDataset {
    /// Reads one split from a folder holding the standard files (raw or `.gz`).
    pub fn open(dir: &Path, split: MnistSplit) -> Result<Self, IdxError> {
        let [images, labels] = locate(dir, &[split])?;
        Self::from_files(&images, &labels)
    }

    /// Reads a pair of images and labels files, checking that they agree.
    pub fn from_files(images: &Path, labels: &Path) -> Result<Self, IdxError> {
        let image_data = read_idx(images, IdxKind::Images)?;
        let label_data = read_idx(labels, IdxKind::Labels)?;
        if image_data.count != label_data.count {
            return Err(IdxError::CountMismatch {
                images_path: images.to_path_buf(),
                images: image_data.count,
                labels_path: labels.to_path_buf(),
                labels: label_data.count,
            });
        }
        Ok(Self {
            len: label_data.count,
            pixels: image_data.bytes.into(),
            labels: label_data.bytes.into(),
            start: 0,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The labels of this view, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels[self.start..self.start + self.len]
    }

    /// The 784 pixels of image `index` of this view.
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn pixels(&self, index: usize) -> &[u8] {
        assert!(index < self.len, "image {index} of {}", self.len);
        let offset = (self.start + index) * IMAGE_PIXELS;
        &self.pixels[offset..offset + IMAGE_PIXELS]
    }

    /// A view of the first `n` images (all of them if there are fewer).
    pub fn take(&self, n: usize) -> Self {
        Self {
            len: n.min(self.len),
            ..self.clone()
        }
    }

    /// Two views: the first `at` images and the rest (`at` is clamped to `len()`).
    pub fn split_at(&self, at: usize) -> (Self, Self) {
        let at = at.min(self.len);
        let head = Self {
            len: at,
            ..self.clone()
        };
        let tail = Self {
            start: self.start + at,
            len: self.len - at,
            ..self.clone()
        };
        (head, tail)
    }
}

impl Dataset<MnistItem> for MnistDataset {
    fn get(&self, index: usize) -> Option<MnistItem> {
        (index < self.len).then(|| MnistItem {
            pixels: self.pixels(index).try_into().expect("784 pixels per image"),
            label: self.labels[self.start + index],
        })
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// The training and test splits of one folder.
#[derive(Debug, Clone)]
pub struct MnistFolder {
    /// The `train-*` files.
    pub train: MnistDataset,
    /// The `t10k-*` files.
    pub test: MnistDataset,
}

impl MnistFolder {
    /// Reads both splits, after checking that all four files are there (listing every one missing).
    pub fn open(dir: &Path) -> Result<Self, IdxError> {
        let [train_images, train_labels, test_images, test_labels] =
            locate(dir, &[MnistSplit::Train, MnistSplit::Test])?;
        Ok(Self {
            train: MnistDataset::from_files(&train_images, &train_labels)?,
            test: MnistDataset::from_files(&test_images, &test_labels)?,
        })
    }
}

/// Finds the files of `splits` in `dir`, accepting for each standard name the raw file, `.gz`,
/// and the `train-images.idx3-ubyte` spelling some mirrors use.
fn locate<const N: usize>(dir: &Path, splits: &[MnistSplit]) -> Result<[PathBuf; N], IdxError> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (stem, _) in splits.iter().flat_map(|s| s.stems()) {
        let dotted = stem.replacen("-idx", ".idx", 1);
        let candidates = [
            stem.to_string(),
            format!("{stem}.gz"),
            dotted.clone(),
            format!("{dotted}.gz"),
        ];
        match candidates
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file())
        {
            Some(path) => found.push(path),
            None => missing.push(format!("{stem}[.gz]")),
        }
    }
    if !missing.is_empty() {
        return Err(IdxError::MissingFiles {
            dir: dir.to_path_buf(),
            missing,
        });
    }
    Ok(found.try_into().expect("one path per requested file"))
}

/// Makes normalized tensors of MNIST items: `(x / 255 − mean) / std`, images `[B, 28, 28]` (the
/// sequence view for LSTMs, `D = 3`) or `[B, 1, 28, 28]` (CNNs, `D = 4`), labels `Int [B]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MnistBatcher {
    /// Subtracted from every pixel scaled to `[0, 1]`.
    pub mean: f32,
    /// Divides every centred pixel.
    pub std: f32,
}

impl Default for MnistBatcher {
    fn default() -> Self {
        Self::new(MNIST_MEAN, MNIST_STD)
    }
}

impl MnistBatcher {
    /// A batcher with the given normalization (`mean = 0, std = 1` keeps pixels in `[0, 1]`).
    pub fn new(mean: f32, std: f32) -> Self {
        Self { mean, std }
    }

    fn batch_with_shape<B: Backend, const D: usize>(
        &self,
        items: Vec<MnistItem>,
        shape: [usize; D],
        device: &B::Device,
    ) -> ClassificationBatch<B, D> {
        let scale = 1.0 / (255.0 * self.std);
        let shift = self.mean / self.std;
        // One image at a time into a buffer of the batch's size: a `flat_map` over the batch
        // could neither size the buffer nor vectorise, and built each MNIST batch in 0.2 ms on
        // the training thread while the others waited (2.5% of a `mnist-lstm` test pass, perf).
        let mut pixels = Vec::with_capacity(items.len() * IMAGE_PIXELS);
        for item in &items {
            pixels.extend(item.pixels.iter().map(|&p| f32::from(p) * scale - shift));
        }
        let labels = items.iter().map(|item| i64::from(item.label)).collect();
        ClassificationBatch {
            inputs: Tensor::from_data(TensorData::new(pixels, shape), device),
            targets: class_tensor(labels, device),
        }
    }
}

impl<B: Backend> Batcher<B, MnistItem, ClassificationBatch<B, 3>> for MnistBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &B::Device) -> ClassificationBatch<B, 3> {
        let shape = [items.len(), IMAGE_SIDE, IMAGE_SIDE];
        self.batch_with_shape(items, shape, device)
    }
}

impl<B: Backend> Batcher<B, MnistItem, ClassificationBatch<B, 4>> for MnistBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &B::Device) -> ClassificationBatch<B, 4> {
        let shape = [items.len(), 1, IMAGE_SIDE, IMAGE_SIDE];
        self.batch_with_shape(items, shape, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    fn sample_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist-sample")
    }

    #[test]
    fn reads_the_embedded_sample_with_its_documented_label_counts() {
        let folder = MnistFolder::open(&sample_dir()).unwrap();
        assert_eq!((folder.train.len(), folder.test.len()), (10_000, 10_000));
        let mut counts = [0usize; 10];
        for &label in folder.train.labels() {
            counts[label as usize] += 1;
        }
        // From data/mnist-sample/README.md.
        assert_eq!(
            counts,
            [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
        );
        let mean = (0..folder.train.len())
            .flat_map(|i| folder.train.pixels(i).iter().map(|&p| f64::from(p)))
            .sum::<f64>()
            / (folder.train.len() * IMAGE_PIXELS) as f64
            / 255.0;
        assert!((mean - 0.1311).abs() < 1e-4, "pixel mean {mean}");
        // The official test set starts 7, 2, 1, 0, 4 (Morvan's tutorial prints them).
        assert_eq!(&folder.test.labels()[..5], &[7, 2, 1, 0, 4]);
    }

    #[test]
    fn views_split_without_copying_and_keep_order() {
        let test = MnistDataset::open(&sample_dir(), MnistSplit::Test).unwrap();
        let (head, tail) = test.split_at(9_000);
        assert_eq!((head.len(), tail.len()), (9_000, 1_000));
        assert_eq!(tail.get(0), test.get(9_000));
        assert_eq!(tail.get(1_000), None);
        assert_eq!(head.take(3).labels(), &test.labels()[..3]);
    }

    #[test]
    fn batches_are_normalized_in_both_layouts() {
        let mut pixels = [0u8; IMAGE_PIXELS];
        pixels[0] = 255;
        let items = vec![
            MnistItem { pixels, label: 3 },
            MnistItem {
                pixels: [0; IMAGE_PIXELS],
                label: 9,
            },
        ];
        let device = Default::default();
        let batcher = MnistBatcher::default();
        let seq: ClassificationBatch<NdArray, 3> = batcher.batch(items.clone(), &device);
        let img: ClassificationBatch<NdArray, 4> = batcher.batch(items, &device);
        assert_eq!(seq.inputs.dims(), [2, 28, 28]);
        assert_eq!(img.inputs.dims(), [2, 1, 28, 28]);
        let values = seq.inputs.into_data().to_vec::<f32>().unwrap();
        assert!((values[0] - (1.0 - MNIST_MEAN) / MNIST_STD).abs() < 1e-6);
        assert!((values[1] + MNIST_MEAN / MNIST_STD).abs() < 1e-6);
        assert_eq!(seq.targets.into_data().to_vec::<i64>().unwrap(), [3, 9]);
    }

    #[test]
    fn variants_parse_and_name_their_classes() {
        assert_eq!(
            MnistVariant::from_name("fashion-mnist"),
            Some(MnistVariant::FashionMnist)
        );
        assert_eq!(MnistVariant::FashionMnist.class_names()[9], "Ankle boot");
        assert_eq!(MnistVariant::from_name("cifar"), None);
    }
}
