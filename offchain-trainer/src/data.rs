//! Datasets: the classic sets that ship inside the binary, and tables from the content
//! store.
//!
//! A table in the store is CSV in UTF-8: an optional header row, then one row per sample
//! of numeric features with the class label (an integer from 0) in the last column.
//! Features are used as given; labels must be dense (`0..classes`).

use serde::{Deserialize, Serialize};

/// Labelled samples, features row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
	/// `samples × features` values.
	pub features: Vec<f32>,
	/// One class per sample.
	pub labels: Vec<u32>,
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
		self.labels.len()
	}

	/// Whether the set has no samples.
	pub fn is_empty(&self) -> bool {
		self.labels.is_empty()
	}

	/// The features of sample `index`.
	pub fn sample(&self, index: usize) -> &[f32] {
		&self.features[index * self.num_features..(index + 1) * self.num_features]
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
		Dataset { features, labels, num_features, num_classes, image }
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
	Ok(Dataset { features, labels, num_features, num_classes, image: None })
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
