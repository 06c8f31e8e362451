//! The reference backend's image operations on `[batch, height, width, channels]` tensors:
//! 3×3 patches for convolutions as matrix products, and 2×2 max-pooling. Both move values
//! without arithmetic; their backward passes add gradients in one fixed order.

/// A tensor's `[batch, height, width, channels]`.
pub type Shape4 = [usize; 4];

/// Every pixel's 3×3 neighbourhood (zero beyond the border) as one row of `9 · channels`
/// values, tap `3·dy + dx` holding the pixel at offset `(dy − 1, dx − 1)`: a 3×3 convolution
/// is then one product of these rows with a `[9 · channels, out]` weight.
pub fn patches(x: &[f32], [batch, height, width, channels]: Shape4) -> Vec<f32> {
	let mut rows = vec![0.0f32; batch * height * width * 9 * channels];
	for_each_tap(batch, height, width, |row, tap, source| {
		let (to, from) = ((row * 9 + tap) * channels, source * channels);
		rows[to..to + channels].copy_from_slice(&x[from..from + channels]);
	});
	rows
}

/// The adjoint of [`patches`]: each pixel's gradient is the sum of its copies' gradients,
/// added in row order.
pub fn fold_patches(gradient: &[f32], [batch, height, width, channels]: Shape4) -> Vec<f32> {
	let mut pixels = vec![0.0f32; batch * height * width * channels];
	for_each_tap(batch, height, width, |row, tap, source| {
		let (from, to) = ((row * 9 + tap) * channels, source * channels);
		for (pixel, gradient) in pixels[to..to + channels].iter_mut().zip(&gradient[from..]) {
			*pixel = *pixel + *gradient;
		}
	});
	pixels
}

/// Calls `visit(row, tap, source)` for every output row (pixel), in order, and every tap
/// whose source pixel lies inside the image.
fn for_each_tap(
	batch: usize,
	height: usize,
	width: usize,
	mut visit: impl FnMut(usize, usize, usize),
) {
	for image in 0..batch {
		for y in 0..height {
			for x in 0..width {
				let row = (image * height + y) * width + x;
				for tap in 0..9 {
					// In padded coordinates, the source is at (y + dy, x + dx).
					let (source_y, source_x) = (y + tap / 3, x + tap % 3);
					if (1..=height).contains(&source_y) && (1..=width).contains(&source_x) {
						visit(row, tap, (image * height + source_y - 1) * width + source_x - 1);
					}
				}
			}
		}
	}
}

/// The maximum of every 2×2 window (odd last rows and columns are dropped), and for each the
/// position in `pixels` of the first value that reached it, to route gradients back.
pub fn max_pool(
	pixels: &[f32],
	[batch, height, width, channels]: Shape4,
) -> (Vec<f32>, Vec<usize>) {
	let (out_height, out_width) = (height / 2, width / 2);
	let size = batch * out_height * out_width * channels;
	let (mut maxima, mut winners) = (vec![0.0f32; size], vec![0usize; size]);
	if size == 0 {
		return (maxima, winners);
	}
	let windows = maxima.chunks_exact_mut(channels).zip(winners.chunks_exact_mut(channels));
	for (window, (maxima, winners)) in windows.enumerate() {
		let (image, y, x) = (
			window / (out_height * out_width),
			window / out_width % out_height,
			window % out_width,
		);
		let corner = ((image * height + 2 * y) * width + 2 * x) * channels;
		// The window's four pixels in row order; a later one wins only if strictly greater.
		for (rank, offset) in
			[0, channels, width * channels, (width + 1) * channels].into_iter().enumerate()
		{
			let start = corner + offset;
			let candidates = &pixels[start..start + channels];
			for (channel, ((maximum, winner), candidate)) in
				maxima.iter_mut().zip(winners.iter_mut()).zip(candidates).enumerate()
			{
				if rank == 0 || *maximum < *candidate {
					(*maximum, *winner) = (*candidate, start + channel);
				}
			}
		}
	}
	(maxima, winners)
}

/// The adjoint of [`max_pool`]: each window's gradient goes to its winner, zero elsewhere.
pub fn unpool(gradient: &[f32], winners: &[usize], input_len: usize) -> Vec<f32> {
	let mut pixels = vec![0.0f32; input_len];
	for (winner, gradient) in winners.iter().zip(gradient) {
		pixels[*winner] = *gradient;
	}
	pixels
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn patches_hold_each_pixels_neighbourhood_with_zeros_beyond_the_border() {
		// One 2×2 image, one channel: 1 2 / 3 4.
		let rows = patches(&[1.0, 2.0, 3.0, 4.0], [1, 2, 2, 1]);
		#[rustfmt::skip]
		assert_eq!(rows, vec![
			0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 4.0,
			0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 4.0, 0.0,
			0.0, 1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0,
			1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0,
		]);
		// Every pixel of a 2×2 image is in all four neighbourhoods.
		assert_eq!(fold_patches(&vec![1.0; 36], [1, 2, 2, 1]), vec![4.0; 4]);
	}

	#[test]
	fn folding_is_the_adjoint_of_taking_patches() {
		// ⟨patches(x), g⟩ = ⟨x, fold(g)⟩ for any x and g, exactly with small integers.
		let shape = [2, 4, 3, 2];
		let x: Vec<f32> = (0..48).map(|i| (i % 7) as f32 - 3.0).collect();
		let g: Vec<f32> = (0..2 * 4 * 3 * 18).map(|i| (i % 5) as f32 - 2.0).collect();
		let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f32>();
		assert_eq!(dot(&patches(&x, shape), &g), dot(&x, &fold_patches(&g, shape)));
	}

	#[test]
	fn max_pooling_keeps_each_windows_first_maximum_and_routes_gradients_to_it() {
		// One 2×4 image, one channel: windows [1 5 / 5 2] and [7 0 / 0 7].
		let (maxima, winners) = max_pool(&[1.0, 5.0, 7.0, 0.0, 5.0, 2.0, 0.0, 7.0], [1, 2, 4, 1]);
		assert_eq!((maxima, winners.clone()), (vec![5.0, 7.0], vec![1, 2]));
		assert_eq!(
			unpool(&[10.0, 20.0], &winners, 8),
			vec![0.0, 10.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0]
		);
	}
}
