//! Models, versions, proposals and datasets.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
	sp_core::{ConstU32, H256},
	sp_runtime::BoundedVec,
};
use scale_info::TypeInfo;
use tessera_primitives::{Cid, DatasetConsent, DidId, JobId, JobSpec};

/// Identifies a model; assigned in registration order.
pub type ModelId = u32;
/// A model's version number: 0 is the root, each trained version the next.
pub type VersionIndex = u32;
/// Identifies a proposal; assigned in order.
pub type ProposalId = u32;
/// Identifies an approved dataset; assigned in order.
pub type DatasetId = u32;

/// Bytes in a model name, an architecture name or a licence.
pub const MAX_NAME_LEN: u32 = 64;
/// Votes a proposal records on each side; the approver set must not be larger.
pub const MAX_APPROVERS: u32 = 32;

/// A short UTF-8 name.
pub type Name = BoundedVec<u8, ConstU32<MAX_NAME_LEN>>;
/// The approvers who voted one way.
pub type Voters<AccountId> = BoundedVec<AccountId, ConstU32<MAX_APPROVERS>>;

/// Who owns a model: an account, or a DID whose controllers act for it.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	PartialEq,
	Eq,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub enum Owner<AccountId> {
	/// An account.
	Account(AccountId),
	/// A DID.
	Did(DidId),
}

/// Who may propose training a model: its owner's standing consent.
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
	Default,
	serde::Serialize,
	serde::Deserialize,
)]
pub enum TrainingPolicy {
	/// Only the owner (or a controller of the owning DID) proposes training it.
	#[default]
	OwnerOnly,
	/// Anyone may propose training it; the approvers still decide.
	Anyone,
}

/// A registered model.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Model<AccountId, Balance> {
	/// Who owns it.
	pub owner: Owner<AccountId>,
	/// Its name.
	pub name: Name,
	/// The architecture the trainer builds, e.g. `mlp`, `cnn`, `char-transformer`.
	pub architecture: Name,
	/// The CID of its metadata.
	pub metadata: Cid,
	/// The version trainers train from; only a finalized job moves it.
	pub current: VersionIndex,
	/// The number of versions, so also the next version's number.
	pub versions: u32,
	/// The account whose deposit pays for the model, and how much; nobody for genesis
	/// models.
	pub deposit: Option<(AccountId, Balance)>,
	/// Who may propose training it, as its owner decided.
	pub training: TrainingPolicy,
}

/// Where a version stands.
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
pub enum VersionStatus<BlockNumber> {
	/// The model's current version.
	Active,
	/// Replaced, but still served while trainers move to the new version, until `until`.
	Migrating {
		/// The first block at which the version counts as deprecated.
		until: BlockNumber,
	},
	/// No longer to be used.
	Deprecated,
}

/// One version of a model's weights.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Version<BlockNumber> {
	/// Where the weights are.
	pub weights: Cid,
	/// The weights' digest.
	pub digest: H256,
	/// The version it was trained from; `None` for the root.
	pub parent: Option<VersionIndex>,
	/// The job that produced it; `None` for the root.
	pub produced_by_job: Option<JobId>,
	/// Where it stands.
	pub status: VersionStatus<BlockNumber>,
	/// When it was registered or activated.
	pub since: BlockNumber,
}

/// A dataset in the registry.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Dataset {
	/// Where the data is.
	pub cid: Cid,
	/// How many shards it is split into.
	pub shards: u32,
	/// Its licence, e.g. an SPDX identifier.
	pub licence: Name,
	/// The DID whose consent governs it.
	pub owner: DidId,
	/// Who may train on it: anyone, or only nodes linked to DIDs `owner` granted access.
	pub consent: DatasetConsent,
}

/// What a proposal asks for.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum ProposalKind<Balance, BlockNumber> {
	/// Train a new version of `model` from `base`, as a proof-of-compute job the proposer
	/// pays `budget` for.
	Training {
		/// The model.
		model: ModelId,
		/// The version training starts from; it must still be current when the job starts.
		base: VersionIndex,
		/// The approved dataset to train on.
		dataset: DatasetId,
		/// The job, with the base version's weights and digest filled in.
		spec: JobSpec,
		/// What the proposer pays for the job.
		budget: Balance,
		/// How many nodes train it.
		redundancy: u8,
		/// Blocks the job may take once it starts.
		duration: BlockNumber,
	},
	/// Add a dataset to the registry.
	AddDataset(Dataset),
	/// Take a dataset out of the registry.
	RemoveDataset(DatasetId),
	/// Make this many approvals what a proposal needs.
	SetApprovalThreshold(u32),
}

/// Where a proposal stands.
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
pub enum ProposalStatus {
	/// Approvers are voting.
	Voting,
	/// Approved; its job is running.
	Training(JobId),
}

/// A proposal and its votes.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Proposal<AccountId, Balance, BlockNumber> {
	/// Who proposed it and whose deposit is held.
	pub proposer: AccountId,
	/// The deposit held from the proposer.
	pub deposit: Balance,
	/// What it asks for.
	pub kind: ProposalKind<Balance, BlockNumber>,
	/// Approvers in favour.
	pub ayes: Voters<AccountId>,
	/// Approvers against.
	pub nays: Voters<AccountId>,
	/// The first block at which voting is closed.
	pub voting_ends: BlockNumber,
	/// Where it stands.
	pub status: ProposalStatus,
}
