//! Datasets: the classic sets that ship inside the binary, and tables from the content
//! store.
//!
//! A table in the store is CSV in UTF-8: an optional header row, then one row per sample
//! of numeric features with the class label (an integer from 0) in the last column.
//! Features are used as given; labels must be dense (`0..classes`).
//!
//! Text (for the character-level transformer) is UTF-8, read as bytes: every window of
//! `context` bytes is a sample whose labels are the bytes that follow each position, so
//! the vocabulary is the 256 byte values and any language or script trains alike.
//!
//! [`DatasetRef::load`] measures a dataset against [`MAX_DATASET_VALUES`] before building
//! its samples.

use crate::{
	limits::{OverLimit, MAX_DATASET_VALUES},
	model::{Architecture, TEXT_VOCABULARY},
	store::{self, ContentStore, StoreError},
};
use serde::{Deserialize, Serialize};

/// Where a job's data comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetRef {
	/// A dataset compiled into the trainer.
	Builtin(Builtin),
	/// Content in the store, by CID: a CSV table, or UTF-8 text for a character model.
	Cid(String),
	/// Texts carried by the job itself (a training proposal's texts).
	Texts(Vec<String>),
}

/// Why a job's data cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
	/// The content store failed or lacks the content.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// The content is not a usable table.
	#[error(transparent)]
	Table(#[from] TableError),
	/// The content is not usable text.
	#[error(transparent)]
	Text(#[from] TextError),
	/// Text goes with a character model, tables and images with the others.
	#[error("{0}")]
	Mismatch(&'static str),
	/// The samples would take more memory than the trainer gives a dataset.
	#[error(transparent)]
	OverLimit(#[from] OverLimit),
}

impl DatasetRef {
	/// Loads the data, read as text windows when `architecture` is a character model.
	pub fn load(
		&self,
		architecture: &Architecture,
		store: &ContentStore,
	) -> Result<Dataset, DatasetError> {
		let context = match architecture {
			Architecture::CharTransformer { context, .. } => Some(*context),
			_ => None,
		};
		match (self, context) {
			(DatasetRef::Builtin(builtin), None) => Ok(builtin.load()),
			(DatasetRef::Cid(cid), None) => {
				let table = store.get(&store::parse_cid(cid)?)?;
				// Every feature value but a row's last is followed by a comma.
				let commas = table.iter().filter(|byte| **byte == b',').count();
				within_bound("the number of feature values in the table", Some(commas))?;
				Ok(from_csv(&table)?)
			}
			(DatasetRef::Cid(cid), Some(context)) => {
				let text = store.get(&store::parse_cid(cid)?)?;
				check_windows([text.as_slice()], context)?;
				Ok(from_texts([text.as_slice()], context)?)
			}
			(DatasetRef::Texts(texts), Some(context)) => {
				let texts = || texts.iter().map(|text| text.as_bytes());
				check_windows(texts(), context)?;
				Ok(from_texts(texts(), context)?)
			}
			(DatasetRef::Builtin(_), Some(_)) => {
				Err(DatasetError::Mismatch("the built-in datasets are tables and images, not text"))
			}
			(DatasetRef::Texts(_), None) => {
				Err(DatasetError::Mismatch("texts train a character transformer only"))
			}
		}
	}
}

/// Refuses feature values above [`MAX_DATASET_VALUES`] (`None`: more than can be counted).
fn within_bound(what: &'static str, values: Option<usize>) -> Result<(), OverLimit> {
	OverLimit::check(
		"MAX_DATASET_VALUES",
		what,
		values.map(|n| n as u128),
		MAX_DATASET_VALUES as u128,
	)
}

/// Refuses texts whose windows of `context` bytes (see [`from_texts`]) would hold more
/// feature values than [`MAX_DATASET_VALUES`], before any window is built.
fn check_windows<'a>(
	texts: impl IntoIterator<Item = &'a [u8]>,
	context: usize,
) -> Result<(), OverLimit> {
	let values = texts.into_iter().try_fold(0usize, |sum, text| {
		sum.checked_add(text.len().saturating_sub(context).checked_mul(context)?)
	});
	within_bound("the number of feature values in the text windows (windows × context)", values)
}

/// Labelled samples, features row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
	/// `samples × features` values.
	pub features: Vec<f32>,
	/// `labels_per_sample` classes per sample.
	pub labels: Vec<u32>,
	/// Classes per sample: 1 for tables and images, the context length for text.
	pub labels_per_sample: usize,
	/// Values per sample.
	pub num_features: usize,
	/// Distinct classes.
	pub num_classes: usize,
	/// Height and width when the features are a one-channel image.
	pub image: Option<(usize, usize)>,
}

impl Dataset {
	/// Samples in the set.
	pub fn len(&self) -> usize {
		self.labels.len() / self.labels_per_sample.max(1)
	}

	/// Whether the set has no samples.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// The 32-bit values it holds, features and labels: what it counts in a run's
	/// [`crate::limits::footprint`].
	pub fn values(&self) -> usize {
		self.features.len().saturating_add(self.labels.len())
	}

	/// The labels of sample `index`.
	pub fn sample_labels(&self, index: usize) -> &[u32] {
		&self.labels[index * self.labels_per_sample..(index + 1) * self.labels_per_sample]
	}

	/// The features of sample `index`.
	pub fn sample(&self, index: usize) -> &[f32] {
		&self.features[index * self.num_features..(index + 1) * self.num_features]
	}

	/// The samples whose index is `shard` modulo `shards`, in order: a participant's part of
	/// the data in a round of federated training.
	pub fn shard(&self, shard: usize, shards: usize) -> Dataset {
		let mut part = self.clone_shape();
		for index in (shard..self.len()).step_by(shards.max(1)) {
			part.features.extend_from_slice(self.sample(index));
			part.labels.extend_from_slice(self.sample_labels(index));
		}
		part
	}

	fn clone_shape(&self) -> Dataset {
		Dataset {
			features: Vec::new(),
			labels: Vec::new(),
			labels_per_sample: self.labels_per_sample,
			num_features: self.num_features,
			num_classes: self.num_classes,
			image: self.image,
		}
	}

	/// The set as a CSV table that [`from_csv`] reads back to the same set (images lose
	/// their shape); `None` for text, which has several labels per sample.
	pub fn to_csv(&self) -> Option<String> {
		if self.labels_per_sample != 1 {
			return None;
		}
		let header = (1..=self.num_features).map(|column| format!("x{column}"));
		let mut table = header.chain(["label".into()]).collect::<Vec<_>>().join(",");
		table.push('\n');
		for index in 0..self.len() {
			// `Display` of an f32 is the shortest text that parses back to the same value.
			let cells = self.sample(index).iter().map(f32::to_string);
			let row = cells.chain([self.labels[index].to_string()]).collect::<Vec<_>>();
			table.push_str(&row.join(","));
			table.push('\n');
		}
		Some(table)
	}
}

/// The datasets compiled into the trainer (from `smartcore`'s `datasets` feature).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Builtin {
	/// 1 797 handwritten digits, 8×8 grey levels 0–16, scaled to 0–1; 10 classes.
	Digits,
	/// 150 iris flowers, 4 measurements; 3 classes.
	Iris,
	/// 569 breast-cancer biopsies, 30 measurements standardised per column; 2 classes.
	BreastCancer,
}

impl Builtin {
	/// Loads the set.
	pub fn load(self) -> Dataset {
		use smartcore::dataset::{breast_cancer, digits, iris};
		let (mut features, num_features, labels, image, scale) = match self {
			Builtin::Digits => {
				let raw = digits::load_dataset();
				// Digit labels are stored as floats holding whole numbers.
				let labels = raw.target.iter().map(|label| *label as u32).collect();
				(raw.data, raw.num_features, labels, Some((8, 8)), Scale::Divide(16.0))
			}
			Builtin::Iris => {
				let raw = iris::load_dataset();
				(raw.data, raw.num_features, raw.target, None, Scale::None)
			}
			Builtin::BreastCancer => {
				let raw = breast_cancer::load_dataset();
				(raw.data, raw.num_features, raw.target, None, Scale::Standardise)
			}
		};
		scale.apply(&mut features, num_features);
		let num_classes = labels.iter().max().map_or(0, |max| *max as usize + 1);
		Dataset { features, labels, labels_per_sample: 1, num_features, num_classes, image }
	}
}

enum Scale {
	None,
	Divide(f32),
	Standardise,
}

impl Scale {
	fn apply(self, features: &mut [f32], columns: usize) {
		match self {
			Scale::None => {}
			Scale::Divide(by) => features.iter_mut().for_each(|value| *value /= by),
			Scale::Standardise => {
				let rows = features.len() / columns;
				for column in 0..columns {
					let values = || features.iter().skip(column).step_by(columns);
					let mean = values().sum::<f32>() / rows as f32;
					let variance =
						values().map(|v| (v - mean) * (v - mean)).sum::<f32>() / rows as f32;
					let deviation = variance.sqrt().max(f32::EPSILON);
					features
						.iter_mut()
						.skip(column)
						.step_by(columns)
						.for_each(|value| *value = (*value - mean) / deviation);
				}
			}
		}
	}
}

/// Why bytes are not a usable table.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
	/// Not UTF-8.
	#[error("the table is not UTF-8")]
	NotText,
	/// No rows of data.
	#[error("the table has no rows")]
	Empty,
	/// A row has a different number of columns than the first.
	#[error("row {row} has {found} columns, the first row has {expected}")]
	Ragged {
		/// One-based line number.
		row: usize,
		/// Columns in the first row.
		expected: usize,
		/// Columns in this row.
		found: usize,
	},
	/// A cell is not a number, or a label is not a class index.
	#[error("row {row}, column {column}: {value:?} is not {expected}")]
	BadCell {
		/// One-based line number.
		row: usize,
		/// One-based column.
		column: usize,
		/// The cell.
		value: String,
		/// What it should be.
		expected: &'static str,
	},
	/// Fewer than two columns: no features or no label.
	#[error("a table needs at least one feature column and a label column")]
	TooNarrow,
}

/// Parses a CSV table (see the module docs).
pub fn from_csv(bytes: &[u8]) -> Result<Dataset, TableError> {
	let text = std::str::from_utf8(bytes).map_err(|_| TableError::NotText)?;
	let mut rows = text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()).peekable();
	let has_header = rows
		.peek()
		.is_some_and(|(_, line)| line.split(',').any(|cell| cell.trim().parse::<f32>().is_err()));
	if has_header {
		rows.next();
	}
	let (mut features, mut labels, mut width) = (Vec::new(), Vec::new(), None);
	for (index, line) in rows {
		let row = index + 1;
		let cells: Vec<&str> = line.split(',').map(str::trim).collect();
		let expected = *width.get_or_insert(cells.len());
		if expected < 2 {
			return Err(TableError::TooNarrow);
		}
		if cells.len() != expected {
			return Err(TableError::Ragged { row, expected, found: cells.len() });
		}
		let (label, values) = cells.split_last().ok_or(TableError::TooNarrow)?;
		for (column, cell) in values.iter().enumerate() {
			let value = cell.parse::<f32>().ok().filter(|value| value.is_finite());
			features.push(value.ok_or_else(|| TableError::BadCell {
				row,
				column: column + 1,
				value: cell.to_string(),
				expected: "a finite number",
			})?);
		}
		labels.push(label.parse::<u32>().map_err(|_| TableError::BadCell {
			row,
			column: expected,
			value: label.to_string(),
			expected: "a class index",
		})?);
	}
	let num_features = width.ok_or(TableError::Empty)? - 1;
	let num_classes = labels.iter().max().map_or(0, |max| *max as usize + 1);
	Ok(Dataset { features, labels, labels_per_sample: 1, num_features, num_classes, image: None })
}

/// Why text is not a usable corpus.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
	/// Not UTF-8.
	#[error("the text is not UTF-8")]
	NotText,
	/// Too short for one window.
	#[error("the text has {bytes} bytes; a context of {context} needs at least {}", context.saturating_add(1))]
	TooShort {
		/// Bytes of text.
		bytes: usize,
		/// The context length asked for.
		context: usize,
	},
}

/// Windows of `context` bytes over the texts (each text on its own: no window spans two),
/// labelled with the next byte at every position.
pub fn from_texts<'a>(
	texts: impl IntoIterator<Item = &'a [u8]>,
	context: usize,
) -> Result<Dataset, TextError> {
	let (mut features, mut labels, mut bytes) = (Vec::new(), Vec::new(), 0);
	for text in texts {
		std::str::from_utf8(text).map_err(|_| TextError::NotText)?;
		bytes += text.len();
		// No window fits (and `context + 1` could overflow).
		if context == 0 || context >= text.len() {
			continue;
		}
		for window in text.windows(context + 1) {
			features.extend(window[..context].iter().map(|byte| f32::from(*byte)));
			labels.extend(window[1..].iter().map(|byte| u32::from(*byte)));
		}
	}
	if labels.is_empty() {
		return Err(TextError::TooShort { bytes, context });
	}
	Ok(Dataset {
		features,
		labels,
		labels_per_sample: context,
		num_features: context,
		num_classes: TEXT_VOCABULARY,
		image: None,
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn builtin_sets_have_their_published_shapes() {
		let digits = Builtin::Digits.load();
		assert_eq!((digits.len(), digits.num_features, digits.num_classes), (1797, 64, 10));
		assert!(digits.features.iter().all(|v| (0.0..=1.0).contains(v)));
		let iris = Builtin::Iris.load();
		assert_eq!((iris.len(), iris.num_features, iris.num_classes), (150, 4, 3));
		let cancer = Builtin::BreastCancer.load();
		assert_eq!((cancer.len(), cancer.num_features, cancer.num_classes), (569, 30, 2));
		let first_column_mean = cancer.features.iter().step_by(30).sum::<f32>() / 569.0;
		assert!(first_column_mean.abs() < 1e-4);
	}

	#[test]
	fn the_shards_of_a_set_are_disjoint_and_cover_it() {
		let iris = Builtin::Iris.load();
		let shards: Vec<Dataset> = (0..4).map(|shard| iris.shard(shard, 4)).collect();
		assert_eq!(shards.iter().map(Dataset::len).collect::<Vec<_>>(), [38, 38, 37, 37]);
		for index in 0..iris.len() {
			let part = &shards[index % 4];
			assert_eq!(part.sample(index / 4), iris.sample(index));
			assert_eq!(part.sample_labels(index / 4), iris.sample_labels(index));
		}
		assert!(iris.shard(200, 300).is_empty());
	}

	#[test]
	fn builtin_tables_export_to_csv_and_read_back_unchanged() {
		for builtin in [Builtin::Iris, Builtin::BreastCancer, Builtin::Digits] {
			let set = builtin.load();
			let read = from_csv(set.to_csv().unwrap().as_bytes()).unwrap();
			assert_eq!(read, Dataset { image: None, ..set });
		}
		let text = from_texts([b"abc".as_slice()], 2).unwrap();
		assert_eq!(text.to_csv(), None);
	}

	#[test]
	fn csv_tables_parse_with_or_without_a_header() {
		let table = from_csv(b"a,b,label\n1,2,0\n3.5,-4,2\n").unwrap();
		assert_eq!(table.features, vec![1.0, 2.0, 3.5, -4.0]);
		assert_eq!(
			(table.labels.clone(), table.num_features, table.num_classes),
			(vec![0, 2], 2, 3)
		);
		assert_eq!(from_csv(b"1,2,0\n3.5,-4,2\n").unwrap(), table);
	}

	#[test]
	fn text_windows_predict_the_next_byte_at_every_position() {
		let corpus = from_texts([&b"abcd"[..], &b"xyz"[..]], 2).unwrap();
		assert_eq!(corpus.len(), 3);
		assert_eq!(corpus.sample(0), &[97.0, 98.0]);
		assert_eq!(corpus.sample_labels(0), &[98, 99]);
		assert_eq!(corpus.sample(2), &[120.0, 121.0]);
		assert_eq!(corpus.sample_labels(2), &[121, 122]);
		assert_eq!(from_texts([&b"ab"[..]], 2), Err(TextError::TooShort { bytes: 2, context: 2 }));
		assert_eq!(from_texts([&[0xc3u8, 0x28][..]], 1), Err(TextError::NotText));
	}

	#[test]
	fn a_table_too_large_to_hold_is_refused_before_it_is_parsed() {
		let dir = tempfile::tempdir().unwrap();
		let store = ContentStore::open(dir.path()).unwrap();
		let mlp = Architecture::Mlp { hidden: vec![4] };
		// Two features and a label per row: one value past the bound in commas alone.
		let rows = MAX_DATASET_VALUES / 2 + 1;
		let table = DatasetRef::Cid(store.put(&b"0,0,1\n".repeat(rows)).unwrap().to_string());
		let refused = table.load(&mlp, &store).err();
		assert!(
			matches!(
				&refused,
				Some(DatasetError::OverLimit(OverLimit { bound: "MAX_DATASET_VALUES", .. }))
			),
			"{refused:?}"
		);
		let small = DatasetRef::Cid(store.put(b"0,0,1\n1,1,0\n").unwrap().to_string());
		assert_eq!(small.load(&mlp, &store).unwrap().len(), 2);
	}

	#[test]
	fn text_windows_are_counted_without_overflow_before_they_are_built() {
		let texts = [b"abcdef".as_slice(), b"xyz".as_slice()];
		assert_eq!(check_windows(texts, 2), Ok(()));
		assert_eq!(
			from_texts(texts, usize::MAX).err(),
			Some(TextError::TooShort { bytes: 9, context: usize::MAX })
		);
		// (4 097 + 4 096 − 4 096) windows of 4 096 bytes: just over 2^24 values.
		let over = check_windows([vec![b'a'; 8193].as_slice()], 4096).unwrap_err();
		assert_eq!((over.bound, over.requested), ("MAX_DATASET_VALUES", Some(4097 * 4096)));
	}

	#[test]
	fn malformed_tables_are_refused_with_the_place_of_the_fault() {
		assert_eq!(from_csv(&[0xff, 0xfe]), Err(TableError::NotText));
		assert_eq!(from_csv(b"x,y\n"), Err(TableError::Empty));
		assert_eq!(
			from_csv(b"1,2,0\n1,0\n"),
			Err(TableError::Ragged { row: 2, expected: 3, found: 2 })
		);
		assert!(matches!(
			from_csv(b"1,2,0\n1,inf,1\n"),
			Err(TableError::BadCell { row: 2, column: 2, .. })
		));
		assert!(matches!(
			from_csv(b"1,2,0\n1,2,-1\n"),
			Err(TableError::BadCell { row: 2, column: 3, .. })
		));
		assert_eq!(from_csv(b"1\n2\n"), Err(TableError::TooNarrow));
	}
}
