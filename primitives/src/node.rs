//! What the chain knows about a compute node: its key, roles, packed capabilities and status.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_core::crypto::KeyTypeId;
use scale_info::TypeInfo;

/// The key type of a compute node's own key, as stored in the node's keystore.
pub const NODE_KEY_TYPE: KeyTypeId = KeyTypeId(*b"tsra");

/// The compute node key: an sr25519 application key of type [`NODE_KEY_TYPE`].
///
/// Off-chain workers sign heartbeats and commitments with it; the chain verifies them
/// against the key recorded when the node registered.
pub mod node_key {
	use polkadot_sdk::sp_application_crypto::{app_crypto, sr25519};
	app_crypto!(sr25519, super::NODE_KEY_TYPE);
}

/// A node's public key, as the chain stores it.
pub type NodePublic = node_key::Public;
/// A signature made with a node key.
pub type NodeSignature = node_key::Signature;

/// Identifies a registered compute node; assigned in registration order and never reused.
pub type NodeId = u32;

/// A kind of work a node offers. A node may hold several roles.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
)]
pub enum NodeRole {
	/// Trains assigned jobs and commits to its results.
	Trainer,
	/// Re-executes disputed segments and checks data availability.
	Validator,
	/// Computes the federated average of a round's accepted updates.
	Aggregator,
	/// Keeps committed content available for the retention period.
	Storage,
}

/// The hardware a node offers, packed into one `u128`.
///
/// | bits    | meaning                 |
/// |---------|-------------------------|
/// | 0       | has a GPU               |
/// | 1       | runs in a TEE           |
/// | 2–7     | reserved, must be zero  |
/// | 8–39    | disk, GB                |
/// | 40–71   | bandwidth, Mbit/s       |
/// | 72–103  | compute units           |
/// | 104–127 | reserved, must be zero  |
///
/// Packing keeps the on-chain record small and lets assignment filter nodes with a few
/// shifts and masks; [`Capabilities::from_bits`] refuses values that set reserved bits, so
/// the layout can grow without old records changing meaning.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Default,
	Debug,
)]
pub struct Capabilities(u128);

impl Capabilities {
	const GPU_BIT: u32 = 0;
	const TEE_BIT: u32 = 1;
	const DISK_SHIFT: u32 = 8;
	const BANDWIDTH_SHIFT: u32 = 40;
	const COMPUTE_SHIFT: u32 = 72;
	const FIELD_MASK: u128 = u32::MAX as u128;
	const DEFINED_BITS: u128 = (1 << Self::GPU_BIT)
		| (1 << Self::TEE_BIT)
		| (Self::FIELD_MASK << Self::DISK_SHIFT)
		| (Self::FIELD_MASK << Self::BANDWIDTH_SHIFT)
		| (Self::FIELD_MASK << Self::COMPUTE_SHIFT);

	/// Packs the given capabilities.
	pub const fn new(
		gpu: bool,
		tee: bool,
		disk_gb: u32,
		bandwidth_mbps: u32,
		compute_units: u32,
	) -> Self {
		Self(
			((gpu as u128) << Self::GPU_BIT)
				| ((tee as u128) << Self::TEE_BIT)
				| ((disk_gb as u128) << Self::DISK_SHIFT)
				| ((bandwidth_mbps as u128) << Self::BANDWIDTH_SHIFT)
				| ((compute_units as u128) << Self::COMPUTE_SHIFT),
		)
	}

	/// The packed value, or `None` if it sets a reserved bit.
	pub const fn from_bits(bits: u128) -> Option<Self> {
		if bits & !Self::DEFINED_BITS == 0 {
			Some(Self(bits))
		} else {
			None
		}
	}

	/// The packed value.
	pub const fn bits(&self) -> u128 {
		self.0
	}

	/// Whether every bit outside the documented layout is zero.
	pub const fn is_valid(&self) -> bool {
		Self::from_bits(self.0).is_some()
	}

	/// Whether the node has a GPU.
	pub const fn gpu(&self) -> bool {
		self.0 & (1 << Self::GPU_BIT) != 0
	}

	/// Whether the node runs in a trusted execution environment.
	pub const fn tee(&self) -> bool {
		self.0 & (1 << Self::TEE_BIT) != 0
	}

	/// Disk space, in GB.
	pub const fn disk_gb(&self) -> u32 {
		self.field(Self::DISK_SHIFT)
	}

	/// Network bandwidth, in Mbit/s.
	pub const fn bandwidth_mbps(&self) -> u32 {
		self.field(Self::BANDWIDTH_SHIFT)
	}

	/// Compute units, the node's self-declared training throughput.
	pub const fn compute_units(&self) -> u32 {
		self.field(Self::COMPUTE_SHIFT)
	}

	/// Whether this node offers at least everything `required` asks for.
	pub const fn satisfies(&self, required: &Capabilities) -> bool {
		(self.gpu() || !required.gpu())
			&& (self.tee() || !required.tee())
			&& self.disk_gb() >= required.disk_gb()
			&& self.bandwidth_mbps() >= required.bandwidth_mbps()
			&& self.compute_units() >= required.compute_units()
	}

	const fn field(&self, shift: u32) -> u32 {
		((self.0 >> shift) & Self::FIELD_MASK) as u32
	}
}

/// Why a node gets no work.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum InactiveReason {
	/// It missed too many heartbeat periods in a row.
	MissedHeartbeats,
	/// A slash deactivated it: a failed trap job or a third offence.
	Slashed,
	/// A slash left less than the minimum stake for its capabilities.
	InsufficientStake,
}

/// Where a node stands.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum NodeStatus<BlockNumber> {
	/// Gets work and is expected to send heartbeats.
	Active,
	/// Gets no work until its owner reactivates it.
	Inactive(InactiveReason),
	/// Deregistered; the stake stays held, and slashable, until the given block.
	Unbonding {
		/// The first block at which the stake may be withdrawn.
		until: BlockNumber,
	},
}

impl<BlockNumber> NodeStatus<BlockNumber> {
	/// Whether the node gets new work.
	pub const fn is_active(&self) -> bool {
		matches!(self, Self::Active)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn capabilities_round_trip_every_field_at_its_extremes() {
		for (gpu, tee, value) in [(true, false, u32::MAX), (false, true, 0), (true, true, 12_345)] {
			let caps = Capabilities::new(gpu, tee, value, value ^ 1, value / 3);
			assert_eq!(caps.gpu(), gpu);
			assert_eq!(caps.tee(), tee);
			assert_eq!(caps.disk_gb(), value);
			assert_eq!(caps.bandwidth_mbps(), value ^ 1);
			assert_eq!(caps.compute_units(), value / 3);
			assert_eq!(Capabilities::from_bits(caps.bits()), Some(caps));
		}
	}

	#[test]
	fn capabilities_follow_the_documented_bit_layout() {
		assert_eq!(Capabilities::new(true, false, 0, 0, 0).bits(), 1);
		assert_eq!(Capabilities::new(false, true, 0, 0, 0).bits(), 2);
		assert_eq!(Capabilities::new(false, false, 1, 0, 0).bits(), 1 << 8);
		assert_eq!(Capabilities::new(false, false, 0, 1, 0).bits(), 1 << 40);
		assert_eq!(Capabilities::new(false, false, 0, 0, 1).bits(), 1 << 72);
	}

	#[test]
	fn reserved_bits_are_refused() {
		for bit in (2..8).chain(104..128) {
			assert_eq!(Capabilities::from_bits(1 << bit), None, "bit {bit}");
		}
	}

	#[test]
	fn satisfies_compares_every_capability() {
		let node = Capabilities::new(true, false, 500, 1_000, 64);
		assert!(node.satisfies(&Capabilities::new(true, false, 500, 1_000, 64)));
		assert!(node.satisfies(&Capabilities::default()));
		assert!(!node.satisfies(&Capabilities::new(false, true, 0, 0, 0)));
		assert!(!node.satisfies(&Capabilities::new(false, false, 501, 0, 0)));
		assert!(!node.satisfies(&Capabilities::new(false, false, 0, 1_001, 0)));
		assert!(!node.satisfies(&Capabilities::new(false, false, 0, 0, 65)));
	}
}
