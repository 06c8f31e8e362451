//! A job as the chain keeps it, and what its replicas sign.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
	frame_support::{traits::ConstU32, BoundedVec},
	sp_core::H256,
	sp_runtime::Perbill,
};
use scale_info::TypeInfo;
use tessera_primitives::{
	trainer_api::AggregatePrivacy, Cid, CommitmentPayload, DpParameters, JobId, JobState, NodeId,
	NodeSigned, SigningContext, TrainedWeights, Workload,
};

/// What a reveal votes for: its weights digest and its state together, hashed, so that a
/// checkpoint's [`Tallies`](crate::Tallies) entry stays a few dozen bytes a replica however
/// long the state's CID is. A replica naming the right digest with a state of its own
/// making votes for something else.
pub fn vote_of(weights_digest: &H256, state_cid: &Cid) -> H256 {
	H256(polkadot_sdk::sp_io::hashing::blake2_256(&(weights_digest, state_cid).encode()))
}

/// A job's hot record: who pays, where it is, and what its commitments are checked against —
/// everything a commit or a reveal reads, and nothing else. Its spec (CIDs, texts,
/// hyper-parameters) is kept apart, in [`JobSpecs`](crate::JobSpecs), so that no commitment
/// carries it in its proof; `integrity_test` keeps this record within
/// [`MAX_HOT_RECORD_LEN`](crate::MAX_HOT_RECORD_LEN) bytes.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct JobInfo<AccountId, Balance, BlockNumber> {
	/// Who posted it and holds its budget.
	pub requester: AccountId,
	/// How it is trained: by replicas of the whole job, or in federated rounds.
	pub kind: JobKind,
	/// What its commitments are checked against and paid for, fixed from its spec.
	pub workload: Workload,
	/// The budget, held from the requester until the job ends.
	pub budget: Balance,
	/// The storage deposit, held from the requester until the job is pruned
	/// ([`Config::Retention`](crate::Config::Retention) blocks after it ends).
	pub deposit: Balance,
	/// Replicas that train it.
	pub redundancy: u8,
	/// After this block, missing work counts as not delivered.
	pub deadline: BlockNumber,
	/// Where it is.
	pub state: JobState,
	/// When it was posted.
	pub created: BlockNumber,
	/// When its replicas were chosen.
	pub assigned: Option<BlockNumber>,
	/// Checkpoints every replica commits, the last one final.
	pub checkpoints: u32,
	/// The agreed result, once a majority agreed.
	pub result: Option<AgreedResult<BlockNumber>>,
	/// When it was finalized, failed or cancelled: its content must stay available for
	/// [`Config::Retention`](crate::Config::Retention) blocks more.
	pub ended: Option<BlockNumber>,
}

impl<AccountId, Balance, BlockNumber> JobInfo<AccountId, Balance, BlockNumber> {
	/// Whether the job is trained in federated rounds ([`Federations`](crate::Federations)
	/// holds them).
	pub fn is_federated(&self) -> bool {
		self.kind == JobKind::Federated
	}
}

/// How a job is trained, fixed when it is posted.
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
pub enum JobKind {
	/// Each replica trains the whole job; the replicas' checkpoints are compared, and a
	/// dispute re-executes a replica's segment.
	Replicated,
	/// Participants each train a shard of every round and an aggregator averages their
	/// updates; a dispute re-executes an update or an aggregate.
	Federated,
}

/// What a majority of replicas agreed on.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct AgreedResult<BlockNumber> {
	/// The final weights digest.
	pub weights_digest: H256,
	/// The final training state.
	pub state_cid: tessera_primitives::Cid,
	/// Until this block anyone may challenge.
	pub challenge_ends: BlockNumber,
}

/// A commitment to a checkpoint: the hash a replica publishes before its payload.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Commit {
	/// The job.
	pub job: JobId,
	/// The checkpoint's index.
	pub checkpoint: u32,
	/// The replica.
	pub node: NodeId,
	/// `commitment_hash(payload, node, salt)`.
	pub hash: H256,
}

/// A reveal: the payload and the salt that open a commit.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Reveal {
	/// What the replica computed.
	pub payload: CommitmentPayload,
	/// The secret the commit was salted with.
	pub salt: [u8; 32],
}

/// Why a job went to dispute.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum DisputeReason {
	/// No final weights digest had a majority (of a GPU job: not every replica that revealed
	/// one revealed the same).
	NoMajority,
	/// The randomness drew a spot-check of this replica.
	SpotCheck(NodeId),
	/// Someone challenged the accepted result.
	Challenged,
	/// Someone challenged this participant's update of a federated round: a panel trains
	/// the participant's shard of the round again from the round's start.
	UpdateChallenged(NodeId),
}

/// A dispute in progress: which segment its panel re-executes, and what it has cost so far.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Dispute<Balance, BlockNumber> {
	/// Why the job is disputed.
	pub reason: DisputeReason,
	/// The checkpoint from which a challenger or a spot-check claims the replicas are wrong,
	/// until a panel has re-executed it.
	pub claim: Option<u32>,
	/// The segment under re-execution.
	pub segment: Segment,
	/// Panel answers must be revealed by this block, or the silent members are replaced.
	pub deadline: BlockNumber,
	/// The block of the current segment's first panel commit.
	pub first_commit: Option<BlockNumber>,
	/// Panels drawn in this dispute; the current one is the `draws`-th, and its members'
	/// commits name it, so that a commit made for one panel counts for no other.
	pub draws: u32,
	/// Segments settled so far.
	pub segments: u32,
	/// Training steps re-executed so far.
	pub steps: u64,
	/// Replicas proven wrong so far.
	pub convicted: BoundedVec<NodeId, ConstU32<{ u8::MAX as u32 }>>,
	/// Stake taken from them so far.
	pub slashed: Balance,
}

/// The steps a panel re-executes: from the state every remaining replica agreed on at the
/// previous checkpoint up to `checkpoint`.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Segment {
	/// The checkpoint the segment ends at.
	pub checkpoint: u32,
	/// Steps completed in the start state.
	pub from_step: u64,
	/// Steps completed at the checkpoint.
	pub to_step: u64,
	/// The start state, which every replica still in the running named; `None` for the
	/// job's own start (its base weights or its seed), and for a GPU job's segment, which
	/// each replica re-executes from its own start.
	pub start_state: Option<TrainedWeights>,
	/// Checkpoints the bisection compared to find it.
	pub probes: u32,
}

/// What a panel member found when it re-executed a segment.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Verdict {
	/// The job.
	pub job: JobId,
	/// The checkpoint the re-executed segment ends at.
	pub checkpoint: u32,
	/// The panel member.
	pub node: NodeId,
	/// The weights digest it computed.
	pub weights_digest: H256,
	/// The CID of the state it computed.
	pub state_cid: Cid,
	/// For a GPU job's segment, how far each replica's state lies from the reference
	/// re-execution from the replica's own start, in parts per billion of the segment's move
	/// ([`tessera_primitives::trainer_api::Reexecution::distances`]), in the order of the
	/// replicas' assignment, and the weights digest and state above are the re-execution's
	/// from the first one's start; empty for a job on the reference backend.
	pub distances: BoundedVec<(NodeId, u32), ConstU32<{ u8::MAX as u32 }>>,
}

/// A panel member's commitment to its verdict: `blake2_256((verdict, salt))`.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct PanelCommit {
	/// The job.
	pub job: JobId,
	/// The checkpoint the re-executed segment ends at.
	pub checkpoint: u32,
	/// The panel member.
	pub node: NodeId,
	/// The panel's draw ([`Dispute::draws`]): a member seated again for the same segment
	/// commits anew, and its earlier commit, which anyone could resubmit, is stale.
	pub draw: u32,
	/// See [`verdict_hash`].
	pub hash: H256,
}

/// A panel member's reveal: its verdict and the salt that opens its commitment.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct PanelReveal {
	/// What it found.
	pub verdict: Verdict,
	/// The secret the commitment was salted with.
	pub salt: [u8; 32],
}

/// The hash a panel member commits to: its verdict, salted.
pub fn verdict_hash(verdict: &Verdict, salt: &[u8; 32]) -> H256 {
	H256(polkadot_sdk::sp_io::hashing::blake2_256(&(verdict, salt).encode()))
}

/// Validators drawn for one availability check at most: the first, and those drawn in the
/// place of one that reported the content missing or said nothing.
pub const MAX_AVAILABILITY_DRAWS: u32 = 4;

/// Validators that must report a check's content missing before the node is at fault: one
/// validator's word never costs a node its stake.
pub const AVAILABILITY_QUORUM: u32 = 2;

/// An open availability check: `validator` must fetch `cid`, which `node` committed at
/// `checkpoint` of `job`, from the node's endpoint and report by `deadline`.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct AvailabilityCheck<BlockNumber> {
	/// The job.
	pub job: JobId,
	/// The node that committed the content.
	pub node: NodeId,
	/// The checkpoint it committed it at.
	pub checkpoint: u32,
	/// The content's CID.
	pub cid: Cid,
	/// The validator drawn now to fetch it.
	pub validator: NodeId,
	/// The last block its report is accepted in.
	pub deadline: BlockNumber,
	/// The validators drawn before it, each of whom reported the content missing or said
	/// nothing; none is drawn again for this check.
	pub earlier: BoundedVec<NodeId, ConstU32<MAX_AVAILABILITY_DRAWS>>,
	/// How many of them reported the content missing.
	pub missing: u32,
}

/// A validator's report on a check: it fetched the content from the node and it matched the
/// CID (`served`), or it could not get it within its window.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct AvailabilityReport {
	/// The check.
	pub check: u64,
	/// The validator.
	pub validator: NodeId,
	/// Whether the node served the content.
	pub served: bool,
}

/// Aggregators of a round: the first in reputation-weighted order, then two backups, each
/// taking over [`Config::AggregatorGrace`](crate::Config::AggregatorGrace) blocks after the
/// one before it.
pub const AGGREGATORS: u32 = 3;

/// A federated job's place in its rounds (SPEC §5). Its checkpoints are its rounds: in round
/// `r` every participant that takes part in it ([`Federation::takes_part`]: all of them,
/// unless the job samples) trains `checkpoint_every` steps on its own data shard from the
/// round's start state (the job's start, then the previous round's aggregate) and commits
/// and reveals its update as checkpoint `r`; an aggregator then commits their federated
/// average, from which round `r + 1` starts.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Federation<BlockNumber> {
	/// Shards the dataset is split into for this job.
	pub shards: u32,
	/// The round in progress.
	pub round: u32,
	/// The randomness the round's shards, its participants (for a job that samples them)
	/// and its noise (for a private job) are drawn from, fixed when the round opened.
	pub seed: H256,
	/// The randomness of the round before, while its updates may still be challenged and
	/// re-executed on the shards it drew; `None` for the first round, and once the round
	/// before can no longer be challenged.
	pub previous_seed: Option<H256>,
	/// Updates must be revealed by this block; then the round proceeds if enough were.
	pub deadline: BlockNumber,
	/// When the round stopped taking updates, and its aggregators' turns began.
	pub closed: Option<BlockNumber>,
	/// The participants whose updates the round's aggregate averages, in this order.
	pub inputs: BoundedVec<NodeId, ConstU32<{ u8::MAX as u32 }>>,
	/// Those of the round before, whose aggregate may still be challenged and re-executed.
	pub previous_inputs: BoundedVec<NodeId, ConstU32<{ u8::MAX as u32 }>>,
	/// Who may aggregate the round, in turn.
	pub aggregators: BoundedVec<NodeId, ConstU32<AGGREGATORS>>,
	/// How many times aggregators were drawn for the round so far.
	pub draws: u8,
	/// The latest round whose aggregate a dispute settled: it, and every round before it,
	/// can no longer be challenged.
	pub settled: Option<u32>,
	/// The differential privacy the job declared, and the ε (in thousandths) it spends of
	/// each participant's grant for it; `None` for a job that adds no noise.
	pub privacy: Option<(DpParameters, u32)>,
}

impl<BlockNumber> Federation<BlockNumber> {
	/// Whether the job samples its participants: it is private with a sampling rate below
	/// one.
	pub fn samples(&self) -> bool {
		self.privacy.is_some_and(|(parameters, _)| parameters.sampling != Perbill::one())
	}

	/// The participants whose updates the aggregate of `round` averages, in input order:
	/// the round in progress's (once it closed), or the round before's while its aggregate
	/// may still be challenged.
	pub fn inputs_of(&self, round: u32) -> &[NodeId] {
		if round == self.round {
			&self.inputs
		} else if round.saturating_add(1) == self.round {
			&self.previous_inputs
		} else {
			&[]
		}
	}

	/// The randomness `round` drew its shards and participants from: the round in
	/// progress's, or the round before's while that one may still be challenged.
	pub fn seed_of(&self, round: u32) -> Option<H256> {
		if round == self.round {
			Some(self.seed)
		} else if round.saturating_add(1) == self.round {
			self.previous_seed
		} else {
			None
		}
	}

	/// Whether `node`, a participant, takes part in the round in progress: every participant
	/// does, unless the job samples them; then [`takes_part`] draws it from the round's
	/// randomness.
	pub fn takes_part(&self, node: NodeId) -> bool {
		match self.privacy {
			Some((parameters, _)) => takes_part(node, &self.seed, self.round, parameters.sampling),
			None => true,
		}
	}

	/// The noise the aggregate of the round in progress adds and names, for a private job of
	/// `seats` participants that each train `samples_per_update` samples a round: the
	/// declared parameters, seeded by the round's randomness ([`AggregatePrivacy::of`]).
	pub fn noise(&self, seats: u32, samples_per_update: u64) -> Option<AggregatePrivacy> {
		self.privacy.map(|(parameters, _)| {
			AggregatePrivacy::of(&parameters, &self.seed, seats, samples_per_update)
		})
	}
}

/// What a federated job asks for beyond its spec: how many train, on how many shards, and
/// with what privacy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FederatedJob {
	/// Trainers that take part in every round.
	pub participants: u8,
	/// Shards the dataset is split into.
	pub shards: u32,
	/// The differential privacy its aggregates have, if any.
	pub privacy: Option<DpParameters>,
}

/// What an aggregator commits for a round: the federated average of the round's updates.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Aggregation {
	/// The job.
	pub job: JobId,
	/// The round.
	pub round: u32,
	/// The aggregator; once a panel replaced a wrong aggregate, a member that computed the
	/// replacement, whose trainer serves its state.
	pub node: NodeId,
	/// The averaged state.
	pub state_cid: Cid,
	/// Its weights digest.
	pub weights_digest: H256,
	/// [`inputs_root`] of the updates it averaged.
	pub inputs_root: H256,
	/// How many updates it averaged.
	pub participants: u32,
	/// The noise it added, for a private job: the job's declared clipping norm, noise
	/// multiplier and sampling, its seats and the samples a round trains each on, and the
	/// noise seed drawn from the round's randomness ([`Federation::noise`]); `None` for a
	/// job that adds none. The chain refuses an aggregate that names other noise than its
	/// round's, and a panel re-computing the aggregate draws the noise it names.
	pub noise: Option<AggregatePrivacy>,
}

/// The binary Merkle root (blake2-256) of the state CIDs of a round's updates, in input
/// order: what an aggregator commits to having averaged.
pub fn inputs_root<'a>(state_cids: impl IntoIterator<Item = &'a [u8]>) -> H256 {
	polkadot_sdk::binary_merkle_tree::merkle_root::<polkadot_sdk::sp_runtime::traits::BlakeTwo256, _>(
		state_cids,
	)
}

/// The data shard `node` trains on in `round`: `blake2_256(node ‖ seed ‖ round) mod shards`.
pub fn shard_of(node: NodeId, seed: &H256, round: u32, shards: u32) -> u32 {
	let hash = polkadot_sdk::sp_io::hashing::blake2_256(&(node, seed, round).encode());
	let draw = u32::from_le_bytes([hash[0], hash[1], hash[2], hash[3]]);
	draw % shards.max(1)
}

/// Whether `node` takes part in `round` of a job that samples its participants at rate
/// `sampling` (Poisson sampling: each participant independently), the round's randomness
/// being `seed`: the first eight bytes of `blake2_256("tessera/dp-sample" ‖ node ‖ seed ‖
/// round)`, read as a little-endian `u64`, fall below `sampling × 2⁶⁴`. Anyone who reads the
/// round's seed derives who was sampled; the chance is `sampling` to within 2⁻⁶⁴.
pub fn takes_part(node: NodeId, seed: &H256, round: u32, sampling: Perbill) -> bool {
	let hash = polkadot_sdk::sp_io::hashing::blake2_256(
		&(b"tessera/dp-sample", node, seed, round).encode(),
	);
	let mut draw = [0u8; 8];
	draw.copy_from_slice(&hash[..8]);
	// draw / 2⁶⁴ < parts / 10⁹, in integers: both sides stay below 2⁹⁴.
	u128::from(u64::from_le_bytes(draw)) * 1_000_000_000 < u128::from(sampling.deconstruct()) << 64
}

impl NodeSigned for Commit {
	const CONTEXT: SigningContext = SigningContext::Commit;
}

impl NodeSigned for Reveal {
	const CONTEXT: SigningContext = SigningContext::Reveal;
}

impl NodeSigned for PanelCommit {
	const CONTEXT: SigningContext = SigningContext::PanelCommit;
}

impl NodeSigned for PanelReveal {
	const CONTEXT: SigningContext = SigningContext::PanelReveal;
}

impl NodeSigned for AvailabilityReport {
	const CONTEXT: SigningContext = SigningContext::Availability;
}

impl NodeSigned for Aggregation {
	const CONTEXT: SigningContext = SigningContext::Aggregation;
}

/// Checkpoints of a job of `steps` steps committing every `every` steps; `None` when the
/// interval is zero.
pub fn checkpoint_count(steps: u32, every: u32) -> Option<u32> {
	(every > 0).then(|| steps.div_ceil(every))
}
