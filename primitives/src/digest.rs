//! Canonical digests of training state, computed identically by the chain and the trainer.
//!
//! Replicas of a job prove that they trained identically by committing to digests of what
//! they computed; a validator re-executing a segment compares against the same digests. So
//! there is exactly one byte encoding, defined here and used by both sides:
//!
//! - A *tensor* is its `f32` values in row-major order, each as 4 little-endian bytes.
//!   [`tensor_digest`] is the BLAKE2b-256 of that encoding.
//! - A *parameter set* (weights, or gradients) is its tensors in the model's parameter
//!   order. [`ParameterHasher`] hashes, for each tensor, its element count as a `u64`
//!   little-endian followed by its encoding, so that moving a value across a layer boundary
//!   changes the digest.
//! - A *loss digest* is the [`tensor_digest`] of the per-step losses of a segment.
//! - A *delta root* is the [`merkle_root`] of the per-layer [`delta_digest`]s between two
//!   parameter sets, so that a dispute can be narrowed to one layer.
//!
//! BLAKE2b-256 here is bit-for-bit the chain's `blake2_256`.

use alloc::vec::Vec;
pub use polkadot_sdk::sp_core::H256;

/// Bytes encoded per hasher update: large enough that the hasher's per-call cost vanishes,
/// small enough to live on the stack.
const ENCODE_CHUNK: usize = 4096;

/// The prefix that separates inner Merkle nodes from the layer digests they are built from.
const MERKLE_NODE_PREFIX: u8 = 1;

fn hasher() -> blake2b_simd::State {
	blake2b_simd::Params::new().hash_length(32).to_state()
}

fn finish(state: &blake2b_simd::State) -> H256 {
	H256::from_slice(state.finalize().as_bytes())
}

fn update_values(state: &mut blake2b_simd::State, values: &[f32]) {
	let mut buffer = [0u8; ENCODE_CHUNK];
	for chunk in values.chunks(ENCODE_CHUNK / 4) {
		let bytes = &mut buffer[..chunk.len() * 4];
		for (slot, value) in bytes.chunks_exact_mut(4).zip(chunk) {
			slot.copy_from_slice(&value.to_le_bytes());
		}
		state.update(bytes);
	}
}

/// The digest of plain bytes: a hardware report, a trainer build.
pub fn bytes_digest(bytes: &[u8]) -> H256 {
	let mut state = hasher();
	state.update(bytes);
	finish(&state)
}

/// The digest of one tensor's values.
pub fn tensor_digest(values: &[f32]) -> H256 {
	let mut state = hasher();
	update_values(&mut state, values);
	finish(&state)
}

/// The digest of a segment's per-step losses, in step order.
pub fn loss_digest(losses: &[f32]) -> H256 {
	tensor_digest(losses)
}

/// Hashes a parameter set tensor by tensor, without holding its encoding in memory.
pub struct ParameterHasher {
	state: blake2b_simd::State,
}

impl Default for ParameterHasher {
	fn default() -> Self {
		Self { state: hasher() }
	}
}

impl ParameterHasher {
	/// Adds the next tensor in parameter order.
	pub fn tensor(&mut self, values: &[f32]) {
		self.state.update(&(values.len() as u64).to_le_bytes());
		update_values(&mut self.state, values);
	}

	/// The digest of the tensors added so far.
	pub fn finish(&self) -> H256 {
		finish(&self.state)
	}
}

/// The digest of a whole parameter set given tensor by tensor in parameter order.
pub fn parameters_digest<'a>(tensors: impl IntoIterator<Item = &'a [f32]>) -> H256 {
	let mut hasher = ParameterHasher::default();
	tensors.into_iter().for_each(|tensor| hasher.tensor(tensor));
	hasher.finish()
}

/// Two tensors compared element by element have different numbers of elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeMismatch {
	/// Elements before the update.
	pub before: usize,
	/// Elements after the update.
	pub after: usize,
}

/// The digest of one layer's update: the [`tensor_digest`] of `after - before`, computed
/// element by element in `f32`.
pub fn delta_digest(before: &[f32], after: &[f32]) -> Result<H256, ShapeMismatch> {
	if before.len() != after.len() {
		return Err(ShapeMismatch { before: before.len(), after: after.len() });
	}
	let mut state = hasher();
	let mut buffer = [0f32; ENCODE_CHUNK / 4];
	for (old, new) in before.chunks(buffer.len()).zip(after.chunks(buffer.len())) {
		let deltas = &mut buffer[..old.len()];
		for ((delta, old), new) in deltas.iter_mut().zip(old).zip(new) {
			*delta = new - old;
		}
		update_values(&mut state, deltas);
	}
	Ok(finish(&state))
}

/// The binary Merkle root of `leaves`.
///
/// Inner nodes are `blake2_256(0x01 ‖ left ‖ right)`; an odd node at the end of a level is
/// carried up unchanged; the root of no leaves is zero and of one leaf the leaf itself.
pub fn merkle_root(leaves: &[H256]) -> H256 {
	let mut level = Vec::from(leaves);
	while level.len() > 1 {
		let mut nodes = level.into_iter();
		let mut parents = Vec::new();
		while let Some(left) = nodes.next() {
			parents.push(match nodes.next() {
				Some(right) => inner_node(&left, &right),
				None => left,
			});
		}
		level = parents;
	}
	level.first().copied().unwrap_or_default()
}

fn inner_node(left: &H256, right: &H256) -> H256 {
	let mut state = hasher();
	state.update(&[MERKLE_NODE_PREFIX]);
	state.update(left.as_bytes());
	state.update(right.as_bytes());
	finish(&state)
}

/// The delta root between two parameter sets given tensor by tensor in parameter order.
pub fn delta_root<'a>(
	before: impl IntoIterator<Item = &'a [f32]>,
	after: impl IntoIterator<Item = &'a [f32]>,
) -> Result<H256, ShapeMismatch> {
	let mut before = before.into_iter();
	let mut after = after.into_iter();
	let mut leaves = Vec::new();
	loop {
		match (before.next(), after.next()) {
			(Some(old), Some(new)) => leaves.push(delta_digest(old, new)?),
			(None, None) => return Ok(merkle_root(&leaves)),
			(old, new) => {
				return Err(ShapeMismatch {
					before: leaves.len() + usize::from(old.is_some()),
					after: leaves.len() + usize::from(new.is_some()),
				})
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use polkadot_sdk::sp_crypto_hashing::blake2_256;

	fn le_bytes(values: &[f32]) -> Vec<u8> {
		values.iter().flat_map(|v| v.to_le_bytes()).collect()
	}

	#[test]
	fn tensor_digest_is_blake2_256_of_little_endian_values_across_chunk_boundaries() {
		for len in [0, 1, ENCODE_CHUNK / 4 - 1, ENCODE_CHUNK / 4, ENCODE_CHUNK + 3] {
			let values: Vec<f32> = (0..len).map(|i| i as f32 * 0.25 - 7.0).collect();
			assert_eq!(tensor_digest(&values), H256(blake2_256(&le_bytes(&values))), "len {len}");
			assert_eq!(bytes_digest(&le_bytes(&values)), tensor_digest(&values));
		}
	}

	#[test]
	fn parameter_digest_prefixes_each_tensor_with_its_length() {
		let expected = {
			let mut bytes = 2u64.to_le_bytes().to_vec();
			bytes.extend(le_bytes(&[1.0, 2.0]));
			bytes.extend(1u64.to_le_bytes());
			bytes.extend(le_bytes(&[3.0]));
			H256(blake2_256(&bytes))
		};
		assert_eq!(parameters_digest([&[1.0, 2.0][..], &[3.0][..]]), expected);
		assert_ne!(parameters_digest([&[1.0][..], &[2.0, 3.0][..]]), expected);
	}

	/// The trainer's tests check the same vector: both sides must reproduce it.
	#[test]
	fn known_vector() {
		let expected: H256 =
			"fb9441b4bda7e2f063efb90168300e29303c9d35cc796cf3056e2ab786388e70".parse().unwrap();
		assert_eq!(tensor_digest(&[1.0, -2.5, 0.0]), expected);
	}

	#[test]
	fn delta_digest_hashes_the_elementwise_difference() {
		assert_eq!(delta_digest(&[1.0, 2.0], &[1.5, 1.0]), Ok(tensor_digest(&[0.5, -1.0])));
		assert_eq!(delta_digest(&[1.0], &[1.0, 2.0]), Err(ShapeMismatch { before: 1, after: 2 }));
	}

	#[test]
	fn merkle_root_hashes_pairs_and_carries_odd_nodes_up() {
		let leaf = |n: u8| H256::repeat_byte(n);
		let node = |l: H256, r: H256| {
			let mut bytes = alloc::vec![MERKLE_NODE_PREFIX];
			bytes.extend_from_slice(l.as_bytes());
			bytes.extend_from_slice(r.as_bytes());
			H256(blake2_256(&bytes))
		};
		assert_eq!(merkle_root(&[]), H256::zero());
		assert_eq!(merkle_root(&[leaf(1)]), leaf(1));
		assert_eq!(merkle_root(&[leaf(1), leaf(2)]), node(leaf(1), leaf(2)));
		assert_eq!(
			merkle_root(&[leaf(1), leaf(2), leaf(3)]),
			node(node(leaf(1), leaf(2)), leaf(3))
		);
	}

	#[test]
	fn delta_root_rejects_parameter_sets_of_different_layouts() {
		let a = [&[1.0f32][..], &[2.0][..]];
		assert_eq!(delta_root(a, [&[1.0f32][..]]), Err(ShapeMismatch { before: 2, after: 1 }));
		assert_eq!(
			delta_root(a, [&[2.0f32][..], &[2.0][..]]),
			Ok(merkle_root(&[tensor_digest(&[1.0]), tensor_digest(&[0.0])]))
		);
	}
}
