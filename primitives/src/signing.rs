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
}
