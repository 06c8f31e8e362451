//! The reference backend's arithmetic: matrix products and elementary functions whose every
//! output is one fixed chain of IEEE-754 operations, whatever the CPU, the vector width, the
//! compiler's target level or the number of threads.
//!
//! A product `c = a · b` computes each `c[i][j]` as `((0 + a[i][0]·b[0][j]) + a[i][1]·b[1][j])
//! + …`: one rounded multiply and one rounded add per term, in ascending order of the shared
//! index. Rust never contracts a multiply and an add into a fused multiply-add, so that chain
//! is what the machine executes. Everything else is about speed, and changes no bit:
//! - vectorised across independent outputs: a micro-kernel keeps an `MR × NR` tile of `c` in
//!   registers and adds one outer product of a column of `a` and a row of `b` per term, so each
//!   vector lane follows its own output's chain;
//! - blocked for cache: `b` is packed once into `NR`-column panels and `a` into `MR`-row panels,
//!   and the shared dimension is walked in `KC`-term blocks whose partial sums wait in `c`
//!   (storing an `f32` and loading it back is exact);
//! - parallel by output only: threads take disjoint bands of rows or whole batch entries, never
//!   parts of one sum, so 1, 2 or N threads give the same result;
//! - on x86-64 the band loop is also compiled for AVX and chosen at run time: wider lanes, the
//!   same chains (AVX has no fused multiply-add instruction to contract them into).
//!
//! `exp` and `ln` come from the `libm` crate, a pure-Rust port of musl's routines, instead of
//! the platform's C library, so that they too give the same bits on every platform.

use rayon::prelude::*;

/// Rows of `c` in a micro-kernel tile.
const MR: usize = 4;
/// Columns of `c` in a micro-kernel tile: two AVX or four SSE/NEON registers per row.
const NR: usize = 16;
/// Terms of the shared dimension per cache block.
const KC: usize = 256;
/// Rows of `c` one parallel task computes; a multiple of [`MR`].
const MC: usize = 64;
/// Below this many multiply-adds a product stays on the calling thread: handing it to other
/// threads would cost more than it saves.
const PARALLEL_WORK: usize = 1 << 20;

/// One operand of a batch of products: `batch` matrices stored one after the other, each
/// row-major, or row-major as its transpose (so that backward passes multiply by `aᵀ` and `bᵀ`
/// without copying them).
#[derive(Clone, Copy, Debug)]
pub struct Operand<'a> {
	/// The values.
	pub values: &'a [f32],
	/// Whether each matrix is stored as its transpose.
	pub transposed: bool,
}

impl<'a> Operand<'a> {
	/// Matrices stored row-major.
	pub fn plain(values: &'a [f32]) -> Self {
		Self { values, transposed: false }
	}

	/// Matrices stored as their transposes.
	pub fn transposed(values: &'a [f32]) -> Self {
		Self { values, transposed: true }
	}

	/// Element `(row, column)` of a matrix of `columns` columns and `rows` rows.
	#[inline(always)]
	fn at(&self, row: usize, column: usize, rows: usize, columns: usize) -> f32 {
		if self.transposed {
			self.values[column * rows + row]
		} else {
			self.values[row * columns + column]
		}
	}
}

/// `a[t] · b[t]` for `batch` pairs of `a[t]: [m, k]` and `b[t]: [k, n]`, as `batch` row-major
/// `[m, n]` results one after the other.
///
/// # Panics
/// If an operand is shorter than its shape says; callers pass tensors with their own shapes.
pub fn batched_matmul(a: Operand, b: Operand, [batch, m, k, n]: [usize; 4]) -> Vec<f32> {
	assert!(
		a.values.len() >= batch * m * k && b.values.len() >= batch * k * n,
		"operands shorter than their shapes"
	);
	let mut c = vec![0.0f32; batch * m * n];
	if c.is_empty() || k == 0 {
		return c;
	}
	let parallel = batch.saturating_mul(m * k * n) >= PARALLEL_WORK;
	let entry = |(t, c): (usize, &mut [f32])| {
		let a = Operand { values: &a.values[t * m * k..][..m * k], ..a };
		let b = Operand { values: &b.values[t * k * n..][..k * n], ..b };
		product(a, b, c, [m, k, n], parallel)
	};
	if parallel {
		c.par_chunks_mut(m * n).enumerate().for_each(entry);
	} else {
		c.chunks_mut(m * n).enumerate().for_each(entry);
	}
	c
}

/// `c += a · b` for one pair, in bands of [`MC`] rows.
fn product(a: Operand, b: Operand, c: &mut [f32], [m, k, n]: [usize; 3], parallel: bool) {
	let packed_b = pack_b(b, k, n);
	let band = |(index, c): (usize, &mut [f32])| {
		band_product(a, &packed_b, c, [m, k, n], index * MC);
	};
	if parallel && m > MC {
		c.par_chunks_mut(MC * n).enumerate().for_each(band);
	} else {
		c.chunks_mut(MC * n).enumerate().for_each(band);
	}
}

/// `b: [k, n]` as `⌈n / NR⌉` panels of `k` rows of [`NR`] values, zero beyond column `n`.
fn pack_b(b: Operand, k: usize, n: usize) -> Vec<f32> {
	let panels = n.div_ceil(NR);
	let mut packed = vec![0.0f32; panels * k * NR];
	for (panel, out) in packed.chunks_exact_mut(k * NR).enumerate() {
		let first = panel * NR;
		let width = NR.min(n - first);
		for (p, row) in out.chunks_exact_mut(NR).enumerate() {
			if b.transposed {
				for (j, value) in row[..width].iter_mut().enumerate() {
					*value = b.at(p, first + j, k, n);
				}
			} else {
				row[..width].copy_from_slice(&b.values[p * n + first..][..width]);
			}
		}
	}
	packed
}

/// `c += a · b` for the band of `c`'s rows from `first_row` on, choosing the widest vectors
/// this CPU has.
fn band_product(a: Operand, packed_b: &[f32], c: &mut [f32], shape: [usize; 3], first_row: usize) {
	#[cfg(target_arch = "x86_64")]
	if std::arch::is_x86_feature_detected!("avx") {
		// SAFETY: the CPU has just been found to support AVX.
		return unsafe { band_product_avx(a, packed_b, c, shape, first_row) };
	}
	band_body(a, packed_b, c, shape, first_row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn band_product_avx(
	a: Operand,
	packed_b: &[f32],
	c: &mut [f32],
	shape: [usize; 3],
	first_row: usize,
) {
	band_body(a, packed_b, c, shape, first_row)
}

#[inline(always)]
fn band_body(a: Operand, packed_b: &[f32], c: &mut [f32], [m, k, n]: [usize; 3], band_row: usize) {
	let rows = c.len() / n;
	let panels = n.div_ceil(NR);
	let mut packed_a = [0.0f32; KC * MR];
	for start in (0..k).step_by(KC) {
		let terms = KC.min(k - start);
		for first_row in (0..rows).step_by(MR) {
			let height = MR.min(rows - first_row);
			// Rows `band_row + first_row ..` of `a`, terms `start..start + terms`, [`MR`]
			// values per term, zero beyond `height`.
			for (p, column) in packed_a.chunks_exact_mut(MR).take(terms).enumerate() {
				for (r, value) in column.iter_mut().enumerate() {
					*value = if r < height {
						a.at(band_row + first_row + r, start + p, m, k)
					} else {
						0.0
					};
				}
			}
			for panel in 0..panels {
				let first_column = panel * NR;
				let width = NR.min(n - first_column);
				let mut tile = [[0.0f32; NR]; MR];
				for (r, tile_row) in tile.iter_mut().enumerate().take(height) {
					let row = &c[(first_row + r) * n + first_column..][..width];
					tile_row[..width].copy_from_slice(row);
				}
				let b_block = &packed_b[(panel * k + start) * NR..][..terms * NR];
				micro_kernel(&packed_a[..terms * MR], b_block, &mut tile);
				for (r, tile_row) in tile.iter().enumerate().take(height) {
					let row = &mut c[(first_row + r) * n + first_column..][..width];
					row.copy_from_slice(&tile_row[..width]);
				}
			}
		}
	}
}

/// `tile += a · b` for one block: `a` holds [`MR`] values per term, `b` [`NR`] per term.
#[inline(always)]
fn micro_kernel(a: &[f32], b: &[f32], tile: &mut [[f32; NR]; MR]) {
	// Fixed-size chunks, so that the compiler unrolls the tile into registers.
	let mut accumulators = *tile;
	for (a, b) in a.as_chunks::<MR>().0.iter().zip(b.as_chunks::<NR>().0) {
		for (row, a) in accumulators.iter_mut().zip(a) {
			for (out, b) in row.iter_mut().zip(b) {
				*out = *out + *a * *b;
			}
		}
	}
	*tile = accumulators;
}

/// `eˣ` for every value, by `libm`.
pub fn exp(values: &mut [f32]) {
	values.iter_mut().for_each(|value| *value = libm::expf(*value));
}

/// `ln x` for every value, by `libm`.
pub fn ln(values: &mut [f32]) {
	values.iter_mut().for_each(|value| *value = libm::logf(*value));
}

#[cfg(test)]
mod tests {
	use super::*;
	use burn::tensor::{Device, Tensor, TensorData};
	use proptest::{collection::vec, prelude::*};

	/// The chain of operations the module promises, one output at a time, with nothing but
	/// scalar multiplies and adds.
	fn promised_chain(
		a: &[f32],
		b: &[f32],
		batch: usize,
		m: usize,
		k: usize,
		n: usize,
	) -> Vec<f32> {
		let mut c = Vec::with_capacity(batch * m * n);
		for t in 0..batch {
			for i in 0..m {
				for j in 0..n {
					let mut sum = 0.0f32;
					for p in 0..k {
						sum = sum + a[(t * m + i) * k + p] * b[(t * k + p) * n + j];
					}
					c.push(sum);
				}
			}
		}
		c
	}

	/// Shapes that cross every block boundary: several bands of [`MC`] rows, several [`KC`]
	/// blocks, partial tiles in both directions; values of mixed sign and magnitude.
	fn operands() -> impl Strategy<Value = (usize, usize, usize, usize, Vec<f32>, Vec<f32>)> {
		(1..4usize, 1..150usize, 1..600usize, 1..70usize).prop_flat_map(|(batch, m, k, n)| {
			let value = prop_oneof![-2.0f32..2.0, -1e6f32..1e6, Just(0.0f32)];
			(
				Just(batch),
				Just(m),
				Just(k),
				Just(n),
				vec(value.clone(), batch * m * k),
				vec(value, batch * k * n),
			)
		})
	}

	/// Each of `batch` row-major `[rows, columns]` matrices, transposed.
	fn transpose(values: &[f32], batch: usize, rows: usize, columns: usize) -> Vec<f32> {
		let mut out = Vec::with_capacity(values.len());
		for t in 0..batch {
			for column in 0..columns {
				for row in 0..rows {
					out.push(values[(t * rows + row) * columns + column]);
				}
			}
		}
		out
	}

	fn bits(values: &[f32]) -> Vec<u32> {
		values.iter().map(|value| value.to_bits()).collect()
	}

	proptest! {
		#![proptest_config(ProptestConfig::with_cases(48))]

		#[test]
		fn every_output_is_exactly_the_promised_chain((batch, m, k, n, a, b) in operands()) {
			prop_assert_eq!(
				bits(&batched_matmul(Operand::plain(&a), Operand::plain(&b), [batch, m, k, n])),
				bits(&promised_chain(&a, &b, batch, m, k, n))
			);
		}

		#[test]
		fn transposed_operands_give_the_bits_of_their_transposes(
			(batch, m, k, n, a, b) in operands()
		) {
			let plain = batched_matmul(Operand::plain(&a), Operand::plain(&b), [batch, m, k, n]);
			let (a_t, b_t) = (transpose(&a, batch, m, k), transpose(&b, batch, k, n));
			let shape = [batch, m, k, n];
			prop_assert_eq!(
				bits(&batched_matmul(Operand::transposed(&a_t), Operand::plain(&b), shape)),
				bits(&plain)
			);
			prop_assert_eq!(
				bits(&batched_matmul(Operand::transposed(&a_t), Operand::transposed(&b_t), shape)),
				bits(&plain)
			);
		}

		#[test]
		fn the_product_agrees_with_the_native_kernel_to_rounding(
			(batch, m, k, n, a, b) in operands()
		) {
			let device = Device::flex();
			let tensor = |values: &[f32], rows, columns| {
				Tensor::<3>::from_data(TensorData::new(values.to_vec(), [batch, rows, columns]), &device)
			};
			let native = tensor(&a, m, k).matmul(tensor(&b, k, n)).try_into_vec_as::<f32>().unwrap();
			let exact = batched_matmul(Operand::plain(&a), Operand::plain(&b), [batch, m, k, n]);
			for (index, (exact, native)) in exact.iter().zip(&native).enumerate() {
				// Any order of the same k products is within k·ε of Σ|aᵢbᵢ| of the true sum.
				let (t, i, j) = (index / (m * n), index / n % m, index % n);
				let magnitude: f32 = (0..k)
					.map(|p| (a[(t * m + i) * k + p] * b[(t * k + p) * n + j]).abs())
					.sum();
				let bound = 2.0 * k as f32 * f32::EPSILON * magnitude + f32::MIN_POSITIVE;
				prop_assert!((exact - native).abs() <= bound, "{} vs {} (bound {})", exact, native, bound);
			}
		}
	}

	#[test]
	fn one_two_and_four_threads_give_the_same_bits() {
		let (batch, m, k, n) = (3, 200, 300, 70);
		let values = |count: usize, seed: usize| -> Vec<f32> {
			(0..count).map(|i| ((i * 7919 + seed) % 2003) as f32 / 1000.0 - 1.0).collect()
		};
		let (a, b) = (values(batch * m * k, 1), values(batch * k * n, 2));
		assert!(batch * m * k * n >= PARALLEL_WORK && m > MC, "the parallel paths must run");
		let on = |threads| {
			rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
				bits(&batched_matmul(Operand::plain(&a), Operand::plain(&b), [batch, m, k, n]))
			})
		};
		let one = on(1);
		assert_eq!(one, on(2));
		assert_eq!(one, on(4));
		assert_eq!(one, bits(&promised_chain(&a, &b, batch, m, k, n)));
	}

	#[test]
	fn empty_shapes_give_empty_or_zero_products() {
		let empty = Operand::plain(&[]);
		assert!(batched_matmul(empty, Operand::plain(&[1.0; 12]), [1, 0, 3, 4]).is_empty());
		assert_eq!(batched_matmul(empty, empty, [1, 2, 0, 3]), vec![0.0; 6]);
	}

	#[test]
	fn exp_and_ln_are_libm_s_correctly_tested_routines() {
		let mut values = [0.0f32, 1.0, -1.5, 88.0];
		exp(&mut values);
		assert_eq!(values, [1.0, libm::expf(1.0), libm::expf(-1.5), libm::expf(88.0)]);
		ln(&mut values);
		assert_eq!(values[0], 0.0);
		assert!((values[1] - 1.0).abs() <= f32::EPSILON);
	}
}
