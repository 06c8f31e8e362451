//! What node keys sign.
//!
//! Every message a node key signs is the bytes of its [`SigningContext`], then the SCALE
//! encoding of the chain's genesis hash, then that of the message. The context names the
//! kind of message and the genesis hash the chain, so that a signature made for one kind of
//! message on one chain is valid for no other: a commit is no reveal, and a heartbeat on a
//! test network is nothing on the main one. No context is a prefix of another, so the
//! concatenation is unambiguous; being a plain concatenation, any signer can produce it
//! (`@polkadot/keyring`'s `pair.sign(u8aConcat(context, genesisHash, message))`).

use codec::Encode;
use polkadot_sdk::sp_runtime::Weight;

/// The kinds of message a node key signs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SigningContext {
	/// A registration: the key agrees to serve the owner account that follows.
	KeyOwnership,
	/// A heartbeat of the node registry.
	Heartbeat,
	/// A replica's commitment to a checkpoint.
	Commit,
	/// A replica's opening of its commitment.
	Reveal,
	/// A panel member's commitment to its verdict.
	PanelCommit,
	/// A panel member's opening of its verdict.
	PanelReveal,
	/// A validator's proof that checked content was served.
	Availability,
	/// An aggregator's federated average of a round.
	Aggregation,
}

impl SigningContext {
	/// Every context, to check they stay apart.
	pub const ALL: [Self; 8] = [
		Self::KeyOwnership,
		Self::Heartbeat,
		Self::Commit,
		Self::Reveal,
		Self::PanelCommit,
		Self::PanelReveal,
		Self::Availability,
		Self::Aggregation,
	];

	/// The bytes a signed message starts with.
	pub const fn tag(self) -> &'static [u8] {
		match self {
			Self::KeyOwnership => b"tessera/node-key-ownership",
			Self::Heartbeat => b"tessera/node-heartbeat",
			Self::Commit => b"tessera/poc-commit",
			Self::Reveal => b"tessera/poc-reveal",
			Self::PanelCommit => b"tessera/poc-panel-commit",
			Self::PanelReveal => b"tessera/poc-panel-reveal",
			Self::Availability => b"tessera/poc-availability",
			Self::Aggregation => b"tessera/poc-aggregation",
		}
	}

	/// What a node key signs for `message` on the chain of `genesis`.
	pub fn message(
		self,
		genesis: &impl Encode,
		message: &(impl Encode + ?Sized),
	) -> alloc::vec::Vec<u8> {
		let mut bytes = self.tag().to_vec();
		genesis.encode_to(&mut bytes);
		message.encode_to(&mut bytes);
		bytes
	}
}

/// A message a node key signs, always in the same context.
pub trait NodeSigned: Encode {
	/// Its kind.
	const CONTEXT: SigningContext;

	/// What the node key signs for it on the chain of `genesis`.
	fn signed_bytes(&self, genesis: &impl Encode) -> alloc::vec::Vec<u8> {
		Self::CONTEXT.message(genesis, self)
	}
}

/// The weight an authorized call (one that carries a signed message, which its `authorize`
/// path checks) charges for its dispatch, given `whole`, the benchmark of its whole extrinsic
/// (its `authorize` path, then the dispatch, from one state), and `authorize`, the benchmark
/// of that path alone, which `frame_system::AuthorizeCall` charges apart as the call's
/// `weight_of_authorize`. The two charges sum to at least `whole`.
///
/// When a block applies the extrinsic, `authorize` runs right before the dispatch. Every key
/// it read is then in the overlay and already in the block's proof, so the dispatch reads it
/// again at no cost. A dispatch benchmarked alone would be charged those reads, and their
/// proof, a second time.
pub fn dispatch_after_authorize(whole: Weight, authorize: Weight) -> Weight {
	whole.saturating_sub(authorize)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn no_context_is_a_prefix_of_another() {
		for one in SigningContext::ALL {
			for other in SigningContext::ALL.into_iter().filter(|other| *other != one) {
				assert!(!other.tag().starts_with(one.tag()), "{one:?} begins {other:?}");
			}
		}
	}

	#[test]
	fn a_message_is_its_context_then_the_genesis_hash_then_its_encoding() {
		let genesis = [9u8; 32];
		let signed = SigningContext::Heartbeat.message(&genesis, &7u32);
		assert_eq!(signed, [&b"tessera/node-heartbeat"[..], &[9; 32], &[7, 0, 0, 0]].concat());
		assert_ne!(signed, SigningContext::Heartbeat.message(&[8u8; 32], &7u32));
		assert_ne!(signed, SigningContext::Commit.message(&genesis, &7u32));
	}

	#[test]
	fn a_dispatch_is_charged_what_it_adds_to_its_authorize_path_so_the_two_sum_to_the_whole() {
		let whole = Weight::from_parts(900, 4_600);
		let authorize = Weight::from_parts(400, 4_500);
		let dispatch = dispatch_after_authorize(whole, authorize);
		assert_eq!(dispatch, Weight::from_parts(500, 100));
		assert_eq!(authorize + dispatch, whole);
		// A noisy run may measure the authorize path above the whole in one dimension.
		let noisy = Weight::from_parts(950, 4_400);
		assert_eq!(dispatch_after_authorize(whole, noisy), Weight::from_parts(0, 200));
	}
}
