//! What the fuzzer does: [`Action`]s, the strategy that draws them, and how each is applied.
//!
//! Arguments refer to things on chain indirectly ([`Id::Back`]: the latest job, proposal or
//! check but `k`; [`NodeSel::Replica`]: a job's replica), so that most calls name things that
//! exist, and otherwise take raw values, out-of-range ones included.

use crate::runtime::*;
use polkadot_sdk::{
	frame_support::{pallet_prelude::TransactionSource, traits::Authorize, BoundedVec},
	frame_system::RawOrigin,
	sp_core::{Pair as _, H256},
	sp_runtime::{traits::Dispatchable, DispatchResult, Perbill, Permill},
};
use proptest::prelude::*;
use tessera_primitives::{
	commitment_hash, Architecture, BackendClass, Cid, CommitmentPayload, DatasetConsent, DidId,
	DpParameters, HyperParameters, JobId, JobSpec, JobState, NodeId, NodeInspect, NodeRole,
	NodeSigned, PrivacyBudget,
};

/// Who signs a call.
#[derive(Clone, Copy, Debug)]
pub enum Who {
	Honest(u8),
	/// The account that owns node key `k`'s node.
	Owner(u8),
	Approver(u8),
	Hostile,
	Root,
	/// No origin at all.
	Unsigned,
	/// The owner of the node the call names.
	NodeOwner,
	/// The requester of the job the call names.
	Requester,
	/// An account a [`Who::NodeOwner`] or [`Who::Requester`] came to.
	Account(AccountId),
}

impl Who {
	fn account(self) -> AccountId {
		match self {
			Who::Honest(i) => HONEST[usize::from(i) % HONEST.len()],
			Who::Owner(k) => OWNER_BASE + AccountId::from(k),
			Who::Approver(i) => APPROVERS[usize::from(i) % APPROVERS.len()],
			Who::Account(account) => account,
			Who::Hostile | Who::Root | Who::Unsigned | Who::NodeOwner | Who::Requester => HOSTILE,
		}
	}

	/// The account a [`Who::NodeOwner`] names for `node`.
	fn of_node(self, node: NodeId) -> Who {
		match self {
			Who::NodeOwner => NodeRegistry::owner(node).map_or(Who::Hostile, Who::Account),
			other => other,
		}
	}

	/// The account a [`Who::Requester`] names for `job`.
	fn of_job(self, job: JobId) -> Who {
		match self {
			Who::Requester => pallet_proof_of_compute::Jobs::<Test>::get(job)
				.map_or(Who::Hostile, |info| Who::Account(info.requester)),
			other => other,
		}
	}

	fn origin(self) -> RuntimeOrigin {
		match self {
			Who::Root => RawOrigin::Root.into(),
			Who::Unsigned => RawOrigin::None.into(),
			other => RawOrigin::Signed(other.account()).into(),
		}
	}
}

/// An id of a job, proposal, model or availability check.
#[derive(Clone, Copy, Debug)]
pub enum Id {
	/// The `k`-th latest: `next - 1 - k`.
	Back(u8),
	/// The one the counter gives next.
	Next,
	/// The `k`-th (wrapping) of those the call can act on now: jobs in the states it
	/// expects, open availability checks, proposals being voted on.
	Live(u8),
	Raw(u64),
}

impl Id {
	/// The id among `live` (ascending) or, for other ids and when none is live, by `next`.
	fn among(self, live: Vec<u64>, next: u64) -> u64 {
		match self {
			Id::Live(k) if !live.is_empty() => live[usize::from(k) % live.len()],
			other => other.of(next),
		}
	}

	fn of(self, next: u64) -> u64 {
		match self {
			Id::Back(k) | Id::Live(k) => next.saturating_sub(1 + u64::from(k)),
			Id::Next => next,
			Id::Raw(raw) => raw,
		}
	}
}

/// A node.
#[derive(Clone, Copy, Debug)]
pub enum NodeSel {
	/// The node registered with node key `k`.
	Key(u8),
	/// The job's `i`-th replica.
	Replica(u8),
	/// The job's `i`-th panel member.
	Panel(u8),
	/// The federated job's `i`-th aggregator in turn.
	Aggregator(u8),
	Raw(u32),
}

/// A job's parameters.
#[derive(Clone, Debug)]
pub struct JobShape {
	pub budget: u64,
	pub redundancy: u8,
	pub duration: u64,
	pub steps: u32,
	pub every: u32,
	pub gpu: bool,
	/// 0: the public dataset, 1: the granted one, 2: one nobody approved.
	pub dataset: u8,
	/// Whether the start state is the registered root.
	pub registered_base: bool,
}

/// An operation a DID's auth key signs.
#[derive(Clone, Debug)]
pub enum DidOp {
	SetMetadata,
	AddController(Who),
	RemoveController(Who),
	Revoke,
	Grant { dataset: u8, grantee: u8, expires: u8 },
	RevokeAccess { dataset: u8, grantee: u8 },
	Budget { dataset: u8, grantee: u8, epsilon: Option<u32> },
	Record { dataset: u8, grantor: u8 },
	Rotate { new_key: u8 },
}

#[derive(Clone, Debug)]
pub enum Action {
	/// Ends the block and runs `n` more (the last one stays open for the next calls).
	Advance(u8),
	// The node registry.
	Register {
		who: Who,
		key: u8,
		roles: u8,
		gpu: bool,
		stake: u64,
	},
	UpdateNode {
		who: Who,
		node: NodeSel,
		roles: u8,
		gpu: bool,
	},
	BondExtra {
		who: Who,
		node: NodeSel,
		amount: u64,
	},
	AttestHardware {
		who: Who,
		node: NodeSel,
	},
	Deregister {
		who: Who,
		node: NodeSel,
	},
	WithdrawUnbonded {
		who: Who,
		node: NodeSel,
	},
	Reactivate {
		who: Who,
		node: NodeSel,
	},
	SetEndpoint {
		who: Who,
		node: NodeSel,
		len: u8,
	},
	LinkDid {
		who: Who,
		node: NodeSel,
		did: Option<u8>,
	},
	Heartbeat {
		node: NodeSel,
		forge: Option<u8>,
		period_shift: i8,
	},
	// Reputation.
	ForceReset {
		who: Who,
		node: NodeSel,
	},
	SetSpotCheckBase {
		who: Who,
		parts: u32,
	},
	// DIDs.
	DidCreate {
		who: Who,
		key: u8,
		proof_for_other: bool,
	},
	DidCall {
		who: Who,
		did: u8,
		op: DidOp,
	},
	DidOperation {
		did: u8,
		forge: Option<u8>,
		nonce_shift: i8,
		op: DidOp,
	},
	// The model registry.
	RegisterModel {
		who: Who,
		owner_did: Option<u8>,
		digest: u8,
	},
	DeprecateVersion {
		who: Who,
		model: Id,
		version: u32,
	},
	ProposeTraining {
		who: Who,
		model: Id,
		job: JobShape,
	},
	ProposeDataset {
		who: Who,
		cid: u8,
		shards: u32,
		owner: u8,
		granted: bool,
	},
	ProposeDatasetRemoval {
		who: Who,
		dataset: Id,
	},
	Approve {
		who: Who,
		proposal: Id,
	},
	Reject {
		who: Who,
		proposal: Id,
	},
	Close {
		who: Who,
		proposal: Id,
	},
	SetTrainingPolicy {
		who: Who,
		model: Id,
		anyone: bool,
	},
	SetApprovalThreshold {
		who: Who,
		threshold: u32,
	},
	ProposeApprovalThreshold {
		who: Who,
		threshold: u32,
	},
	// Proof of compute.
	CreateJob {
		who: Who,
		job: JobShape,
	},
	CreateFederatedJob {
		who: Who,
		job: JobShape,
		participants: u8,
		shards: u32,
		private: bool,
	},
	CancelJob {
		who: Who,
		job: Id,
	},
	Commit {
		job: Id,
		node: NodeSel,
		forge: Option<u8>,
		checkpoint: u32,
		digest: u8,
	},
	Reveal {
		job: Id,
		node: NodeSel,
		forge: Option<u8>,
		checkpoint: u32,
		digest: u8,
	},
	Challenge {
		who: Who,
		job: Id,
		checkpoint: u32,
	},
	SetChallengeWindow {
		who: Who,
		blocks: u64,
	},
	SealTrap {
		who: Who,
		job: Id,
		seed: u8,
		expected: u8,
	},
	RevealTrap {
		who: Who,
		job: Id,
		expected: u8,
	},
	ChallengeAvailability {
		who: Who,
		job: Id,
		node: NodeSel,
		checkpoint: u32,
	},
	ReportAvailability {
		check: Id,
		forge: Option<u8>,
		served: bool,
	},
	SubmitAggregation {
		job: Id,
		node: NodeSel,
		forge: Option<u8>,
		round_shift: i8,
		digest: u8,
	},
	SetTrapRate {
		who: Who,
		percent: u32,
	},
	ForceNextStep {
		who: Who,
		job: Id,
	},
	PanelCommit {
		job: Id,
		member: NodeSel,
		forge: Option<u8>,
		draw_shift: i8,
		digest: u8,
	},
	PanelReveal {
		job: Id,
		member: NodeSel,
		forge: Option<u8>,
		draw_shift: i8,
		digest: u8,
	},
}

// Strategies.

fn who() -> impl Strategy<Value = Who> {
	prop_oneof![
		4 => (0..3u8).prop_map(Who::Honest),
		3 => (0..NODE_KEYS).prop_map(Who::Owner),
		2 => (0..2u8).prop_map(Who::Approver),
		2 => Just(Who::Hostile),
		1 => Just(Who::Root),
		1 => Just(Who::Unsigned),
	]
}

/// Mostly a node's owner, for calls on a node.
fn owner() -> impl Strategy<Value = Who> {
	prop_oneof![4 => Just(Who::NodeOwner), 1 => who()]
}

/// Mostly an honest account, for calls that pay.
fn payer() -> impl Strategy<Value = Who> {
	prop_oneof![4 => (0..3u8).prop_map(Who::Honest), 1 => who()]
}

fn id() -> impl Strategy<Value = Id> {
	prop_oneof![
		6 => (0..4u8).prop_map(Id::Live),
		3 => (0..3u8).prop_map(Id::Back),
		1 => Just(Id::Next),
		1 => prop_oneof![Just(0u64), Just(u64::from(u32::MAX)), any::<u64>()].prop_map(Id::Raw),
	]
}

/// A job the call can act on: mostly the oldest of them.
fn live() -> impl Strategy<Value = Id> {
	prop_oneof![12 => Just(Id::Live(0)), 4 => (1..4u8).prop_map(Id::Live), 1 => id()]
}

/// One of the job's replicas, mostly.
fn replica() -> impl Strategy<Value = NodeSel> {
	prop_oneof![8 => (0..5u8).prop_map(NodeSel::Replica), 1 => node()]
}

fn node() -> impl Strategy<Value = NodeSel> {
	prop_oneof![
		4 => (0..NODE_KEYS).prop_map(NodeSel::Key),
		4 => (0..5u8).prop_map(NodeSel::Replica),
		2 => (0..3u8).prop_map(NodeSel::Panel),
		1 => prop_oneof![0..20u32, Just(u32::MAX)].prop_map(NodeSel::Raw),
	]
}

/// Mostly the node's own key; sometimes another's.
fn forge() -> impl Strategy<Value = Option<u8>> {
	prop_oneof![9 => Just(None), 1 => (0..NODE_KEYS).prop_map(Some)]
}

/// Stands for the checkpoint a replica is at: the next to commit, or the first committed
/// and not revealed.
const CURRENT: u32 = u32::MAX - 1;

fn checkpoint() -> impl Strategy<Value = u32> {
	prop_oneof![6 => Just(CURRENT), 4 => 0..3u32, 1 => Just(u32::MAX)]
}

/// The digest a replica or panel member reports: mostly the honest one.
fn digest() -> impl Strategy<Value = u8> {
	prop_oneof![3 => Just(1u8), 1 => Just(2u8)]
}

fn did_key() -> impl Strategy<Value = u8> {
	// `DID_KEYS` names a DID nobody created.
	0..=DID_KEYS
}

/// A job that mostly passes the checks at creation: the usual two checkpoints, the approved
/// public dataset, the registered start state; now and then one parameter is out of range.
fn job_shape() -> impl Strategy<Value = JobShape> {
	let valid = (1_000..20_000u64, 1..4u8, 10..60u64, prop::bool::weighted(0.15)).prop_map(
		|(budget, redundancy, duration, gpu)| JobShape {
			budget,
			redundancy,
			duration,
			steps: 20,
			every: 10,
			gpu,
			dataset: 0,
			registered_base: true,
		},
	);
	let broken = (valid.clone(), 0..8u8, any::<u64>()).prop_map(|(mut shape, field, value)| {
		let pick = |options: &[u64]| options[(value % options.len() as u64) as usize];
		match field {
			0 => shape.budget = value % 200,
			1 => shape.redundancy = pick(&[0, 4, 5, 6, 255]) as u8,
			2 => shape.duration = pick(&[0, 1, MAX_JOB_DURATION, MAX_JOB_DURATION + 1, u64::MAX]),
			3 => shape.steps = pick(&[0, 10, 30, 1_000_000]) as u32,
			4 => shape.every = pick(&[0, 1, 7]) as u32,
			5 => shape.dataset = pick(&[1, 2]) as u8,
			6 => shape.registered_base = false,
			_ => shape.budget = u64::MAX,
		}
		shape
	});
	prop_oneof![8 => valid, 2 => broken]
}

fn did_op() -> impl Strategy<Value = DidOp> {
	prop_oneof![
		Just(DidOp::SetMetadata),
		who().prop_map(DidOp::AddController),
		who().prop_map(DidOp::RemoveController),
		Just(DidOp::Revoke),
		(0..3u8, did_key(), any::<u8>()).prop_map(|(dataset, grantee, expires)| DidOp::Grant {
			dataset,
			grantee,
			expires
		}),
		(0..3u8, did_key()).prop_map(|(dataset, grantee)| DidOp::RevokeAccess { dataset, grantee }),
		(0..3u8, did_key(), prop::option::of(0..2_000u32))
			.prop_map(|(dataset, grantee, epsilon)| DidOp::Budget { dataset, grantee, epsilon }),
		(0..3u8, did_key()).prop_map(|(dataset, grantor)| DidOp::Record { dataset, grantor }),
		(0..DID_KEYS).prop_map(|new_key| DidOp::Rotate { new_key }),
	]
}

/// A panel member's vote on a disputed job: the member, the key that signs, the draw it
/// answers (mostly the current one) and the digest it finds.
fn panel_vote() -> impl Strategy<Value = (Id, NodeSel, Option<u8>, i8, u8)> {
	let draw_shift = prop_oneof![4 => Just(0i8), 1 => -1..2i8];
	(live(), (0..3u8).prop_map(NodeSel::Panel), forge(), draw_shift, digest())
}

pub fn action() -> impl Strategy<Value = Action> {
	let registry = prop_oneof![
		(
			who(),
			0..NODE_KEYS,
			0..16u8,
			prop::bool::weighted(0.2),
			prop_oneof![0..3_000u64, Just(u64::MAX)]
		)
			.prop_map(|(who, key, roles, gpu, stake)| Action::Register {
				who,
				key,
				roles,
				gpu,
				stake
			}),
		(owner(), node(), 0..16u8, any::<bool>())
			.prop_map(|(who, node, roles, gpu)| Action::UpdateNode { who, node, roles, gpu }),
		(owner(), node(), prop_oneof![0..2_000u64, Just(u64::MAX)])
			.prop_map(|(who, node, amount)| Action::BondExtra { who, node, amount }),
		(owner(), node()).prop_map(|(who, node)| Action::AttestHardware { who, node }),
		(owner(), node()).prop_map(|(who, node)| Action::Deregister { who, node }),
		(owner(), node()).prop_map(|(who, node)| Action::WithdrawUnbonded { who, node }),
		(owner(), node()).prop_map(|(who, node)| Action::Reactivate { who, node }),
		(owner(), node(), 0..=32u8).prop_map(|(who, node, len)| Action::SetEndpoint {
			who,
			node,
			len
		}),
		(owner(), node(), prop::option::of(did_key()))
			.prop_map(|(who, node, did)| Action::LinkDid { who, node, did }),
		(who(), node()).prop_map(|(who, node)| Action::ForceReset { who, node }),
		(who(), prop_oneof![0..1_000_000u32, Just(u32::MAX)])
			.prop_map(|(who, parts)| Action::SetSpotCheckBase { who, parts }),
	];
	let dids = prop_oneof![
		(who(), 0..DID_KEYS, prop::bool::weighted(0.1)).prop_map(|(who, key, proof_for_other)| {
			Action::DidCreate { who, key, proof_for_other }
		}),
		(who(), did_key(), did_op()).prop_map(|(who, did, op)| Action::DidCall { who, did, op }),
		(did_key(), forge(), prop_oneof![9 => Just(0i8), 1 => -2..3i8], did_op()).prop_map(
			|(did, forge, nonce_shift, op)| Action::DidOperation { did, forge, nonce_shift, op }
		),
	];
	let models = prop_oneof![
		1 => (who(), prop::option::of(did_key()), any::<u8>()).prop_map(|(who, owner_did, digest)| {
			Action::RegisterModel { who, owner_did, digest }
		}),
		1 => (who(), id(), 0..4u32)
			.prop_map(|(who, model, version)| Action::DeprecateVersion { who, model, version }),
		// Proposals from anyone, with budgets their proposers cannot pay too: a job refused
		// when its proposal is approved must leave nothing behind.
		2 => (who(), id(), job_shape())
			.prop_map(|(who, model, job)| Action::ProposeTraining { who, model, job }),
		1 => (who(), any::<u8>(), 0..6u32, did_key(), any::<bool>()).prop_map(
			|(who, cid, shards, owner, granted)| Action::ProposeDataset {
				who,
				cid,
				shards,
				owner,
				granted
			}
		),
		1 => (who(), id()).prop_map(|(who, dataset)| Action::ProposeDatasetRemoval { who, dataset }),
		3 => (prop_oneof![4 => (0..2u8).prop_map(Who::Approver), 1 => who()], id())
			.prop_map(|(who, proposal)| Action::Approve { who, proposal }),
		1 => (who(), id()).prop_map(|(who, proposal)| Action::Reject { who, proposal }),
		1 => (who(), id()).prop_map(|(who, proposal)| Action::Close { who, proposal }),
		1 => (who(), id(), any::<bool>())
			.prop_map(|(who, model, anyone)| Action::SetTrainingPolicy { who, model, anyone }),
		1 => (who(), 0..4u32)
			.prop_map(|(who, threshold)| Action::SetApprovalThreshold { who, threshold }),
		1 => (who(), 0..4u32)
			.prop_map(|(who, threshold)| Action::ProposeApprovalThreshold { who, threshold }),
	];
	let jobs = prop_oneof![
		4 => (payer(), job_shape()).prop_map(|(who, job)| Action::CreateJob { who, job }),
		2 => (payer(), job_shape(), 0..6u8, 0..6u32, prop::bool::weighted(0.3)).prop_map(
			|(who, job, participants, shards, private)| Action::CreateFederatedJob {
				who,
				job,
				participants,
				shards,
				private
			}
		),
		1 => (prop_oneof![Just(Who::Requester), who()], id())
			.prop_map(|(who, job)| Action::CancelJob { who, job }),
		14 => (live(), replica(), forge(), checkpoint(), digest()).prop_map(
			|(job, node, forge, checkpoint, digest)| Action::Commit {
				job,
				node,
				forge,
				checkpoint,
				digest
			}
		),
		14 => (live(), replica(), forge(), checkpoint(), digest()).prop_map(
			|(job, node, forge, checkpoint, digest)| Action::Reveal {
				job,
				node,
				forge,
				checkpoint,
				digest
			}
		),
		1 => (who(), live(), checkpoint())
			.prop_map(|(who, job, checkpoint)| Action::Challenge { who, job, checkpoint }),
		1 => (who(), prop_oneof![0..10u64, Just(u64::MAX)])
			.prop_map(|(who, blocks)| Action::SetChallengeWindow { who, blocks }),
		1 => (who(), id(), 0..3u8, digest()).prop_map(|(who, job, seed, expected)| {
			Action::SealTrap { who, job, seed, expected }
		}),
		1 => (who(), id(), digest())
			.prop_map(|(who, job, expected)| Action::RevealTrap { who, job, expected }),
		2 => (who(), live(), replica(), checkpoint()).prop_map(|(who, job, node, checkpoint)| {
			Action::ChallengeAvailability { who, job, node, checkpoint }
		}),
		3 => (live(), forge(), prop::bool::weighted(0.8))
			.prop_map(|(check, forge, served)| Action::ReportAvailability { check, forge, served }),
		3 => (
			live(),
			prop_oneof![8 => (0..3u8).prop_map(NodeSel::Aggregator), 1 => node()],
			forge(),
			prop_oneof![4 => Just(0i8), 1 => -1..2i8],
			digest(),
		)
			.prop_map(
			|(job, node, forge, round_shift, digest)| Action::SubmitAggregation {
				job,
				node,
				forge,
				round_shift,
				digest
			}
		),
		1 => (who(), prop_oneof![0..100u32, Just(u32::MAX)])
			.prop_map(|(who, percent)| Action::SetTrapRate { who, percent }),
		1 => (who(), id()).prop_map(|(who, job)| Action::ForceNextStep { who, job }),
		4 => panel_vote().prop_map(|(job, member, forge, draw_shift, digest)| Action::PanelCommit {
			job,
			member,
			forge,
			draw_shift,
			digest,
		}),
		4 => panel_vote().prop_map(|(job, member, forge, draw_shift, digest)| Action::PanelReveal {
			job,
			member,
			forge,
			draw_shift,
			digest,
		}),
	];
	prop_oneof![
		6 => (1..6u8).prop_map(Action::Advance),
		3 => (0..NODE_KEYS).prop_map(|key| Action::Heartbeat {
			node: NodeSel::Key(key),
			forge: None,
			period_shift: 0
		}),
		1 => (node(), forge(), -1..2i8).prop_map(|(node, forge, period_shift)| Action::Heartbeat {
			node,
			forge,
			period_shift
		}),
		4 => registry,
		4 => dids,
		5 => models,
		20 => jobs,
	]
}

// Applying actions.

/// What applying an action came to, for the run's statistics.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Applied {
	/// A block boundary, not a call.
	Block,
	Ok,
	/// Dispatched and failed.
	Failed,
	/// An authorized call the authorize check refused: never dispatched.
	Refused,
}

/// Whether to print every call's outcome (`TESSERA_FUZZ_TRACE=1`), to see where sequences
/// go and why calls fail.
fn tracing() -> bool {
	thread_local! {
		static TRACE: bool = std::env::var("TESSERA_FUZZ_TRACE").is_ok_and(|value| value == "1");
	}
	TRACE.with(|trace| *trace)
}

fn result(result: DispatchResult) -> Applied {
	match result {
		Ok(()) => Applied::Ok,
		Err(error) => {
			if tracing() {
				println!("    failed: {error:?}");
			}
			Applied::Failed
		}
	}
}

fn dispatch(who: Who, call: impl Into<RuntimeCall>) -> Applied {
	let call: RuntimeCall = call.into();
	result(call.dispatch(who.origin()).map(drop).map_err(|error| error.error))
}

/// Goes through the call's `#[pallet::authorize]` check as the pool would, and dispatches it
/// with the authorized origin only when the check accepts it.
fn authorized(call: impl Into<RuntimeCall>) -> Applied {
	let call: RuntimeCall = call.into();
	match call.authorize(TransactionSource::External) {
		Some(Ok(_)) => {
			result(call.dispatch(RawOrigin::Authorized.into()).map(drop).map_err(|e| e.error))
		}
		Some(Err(error)) => {
			if tracing() {
				println!("    refused: {error:?}");
			}
			Applied::Refused
		}
		None => panic!("not an authorized call: {call:?}"),
	}
}

pub fn did_of(key: u8) -> DidId {
	if key >= DID_KEYS {
		return DidId([0xee; 32]);
	}
	pallet_did::AuthKey::Sr25519(did_pair(key).public()).did()
}

/// The DID key that signs for `did` now: the document's auth key, if it is one of ours.
fn did_signer(did: &DidId) -> u8 {
	let auth = pallet_did::Documents::<Test>::get(did).map(|doc| doc.auth_key);
	(0..DID_KEYS)
		.find(|k| auth == Some(pallet_did::AuthKey::Sr25519(did_pair(*k).public())))
		.unwrap_or(0)
}

fn did_sign(key: u8, message: &[u8]) -> pallet_did::DidSignature {
	pallet_did::DidSignature::Sr25519(did_pair(key).sign(message))
}

fn dataset_cid(index: u8) -> Cid {
	match index {
		0 => Cid::truncate_from(DATASET.to_vec()),
		1 => Cid::truncate_from(GRANTED_DATASET.to_vec()),
		_ => Cid::truncate_from(b"bafkunknown".to_vec()),
	}
}

fn did_cid(index: u8) -> pallet_did::CidOf<Test> {
	BoundedVec::truncate_from(dataset_cid(index).into_inner())
}

fn roles(bits: u8) -> pallet_node_registry::Roles {
	let all = [NodeRole::Trainer, NodeRole::Validator, NodeRole::Aggregator, NodeRole::Storage];
	let roles: Vec<_> =
		all.into_iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, r)| r).collect();
	BoundedVec::truncate_from(roles)
}

/// Registers node key `key` for `owner`, with the key's proof of ownership.
pub fn register(
	owner: AccountId,
	key: u8,
	node_roles: Vec<NodeRole>,
	gpu: bool,
	stake: u64,
) -> DispatchResult {
	register_as(RuntimeOrigin::signed(owner), owner, key, node_roles, gpu, stake)
}

/// Registers node key `key` from `origin`, with the key's proof of ownership for `owner`.
fn register_as(
	origin: RuntimeOrigin,
	owner: AccountId,
	key: u8,
	node_roles: Vec<NodeRole>,
	gpu: bool,
	stake: u64,
) -> DispatchResult {
	let pair = node_pair(key);
	let genesis = NodeRegistry::genesis_hash();
	let proof = sign(&pair, &pallet_node_registry::types::key_ownership_message(&genesis, &owner));
	NodeRegistry::register(
		origin,
		BoundedVec::truncate_from(node_roles),
		BoundedVec::truncate_from(b"eu-west".to_vec()),
		capabilities(gpu),
		H256::repeat_byte(key),
		pair.public().into(),
		proof,
		stake,
	)
}

/// The parts of the chain a node selection is relative to.
struct Context {
	job: JobId,
}

fn node_of(sel: NodeSel, context: &Context) -> NodeId {
	let pick = |list: Vec<NodeId>, i: u8| {
		if list.is_empty() {
			u32::MAX - 1
		} else {
			list[usize::from(i) % list.len()]
		}
	};
	match sel {
		NodeSel::Key(k) => pallet_node_registry::NodeOfKey::<Test>::get(
			tessera_primitives::NodePublic::from(node_pair(k).public()),
		)
		.unwrap_or(u32::MAX - 2),
		NodeSel::Replica(i) => pick(
			pallet_proof_of_compute::Assignments::<Test>::get(context.job)
				.map(|r| r.into_inner())
				.unwrap_or_default(),
			i,
		),
		NodeSel::Panel(i) => {
			pick(pallet_proof_of_compute::Panels::<Test>::get(context.job).into_inner(), i)
		}
		NodeSel::Aggregator(i) => pick(
			pallet_proof_of_compute::Federations::<Test>::get(context.job)
				.map(|federation| federation.aggregators.into_inner())
				.unwrap_or_default(),
			i,
		),
		NodeSel::Raw(raw) => raw,
	}
}

/// The key that signs for `node`: `forge`, or the node's own key when it is one of ours.
fn signer(node: NodeId, forge: Option<u8>) -> polkadot_sdk::sp_core::sr25519::Pair {
	let own = NodeRegistry::node_key(node).and_then(|key| key_index(&key)).unwrap_or(REGISTERED);
	node_pair(forge.unwrap_or(own))
}

fn node_sign(
	node: NodeId,
	forge: Option<u8>,
	message: &impl NodeSigned,
) -> tessera_primitives::NodeSignature {
	sign(&signer(node, forge), &message.signed_bytes(&ProofOfCompute::genesis_hash()))
}

fn spec(shape: &JobShape) -> JobSpec {
	JobSpec {
		architecture: Architecture::Mlp { hidden: BoundedVec::truncate_from(vec![16]) },
		base_weights: Cid::truncate_from(BASE_WEIGHTS.to_vec()),
		base_digest: if shape.registered_base { BASE_DIGEST } else { H256::repeat_byte(9) },
		dataset: dataset_cid(shape.dataset),
		hyper_parameters: HyperParameters {
			learning_rate: Perbill::from_percent(10),
			batch_size: 32,
			steps: shape.steps,
			checkpoint_every: shape.every,
			seed: 1,
			optimizer: tessera_primitives::Optimizer::Sgd,
		},
		texts: Default::default(),
		trainer_build: H256::repeat_byte(2),
		backend: if shape.gpu { BackendClass::Gpu } else { BackendClass::CpuReference },
	}
}

fn deadline(duration: u64) -> u64 {
	System::block_number().saturating_add(duration)
}

fn salt(node: NodeId) -> [u8; 32] {
	[(node as u8).wrapping_add(40); 32]
}

/// What an honest replica reports at `checkpoint` of `job`, as its workload says;
/// `digest` names the weights it ended with.
fn payload(job: JobId, node: NodeId, checkpoint: u32, digest: u8) -> CommitmentPayload {
	let info = pallet_proof_of_compute::Jobs::<Test>::get(job);
	// Every update of a federated job ends its trainer's run for the round.
	let last = pallet_proof_of_compute::Federations::<Test>::contains_key(job)
		|| info.as_ref().is_some_and(|info| checkpoint.saturating_add(1) == info.checkpoints);
	let workload = info.map(|info| info.workload);
	let (backend, steps, every, batch) = workload
		.map_or((BackendClass::CpuReference, 20, 10, 32), |w| {
			(w.backend, w.steps, w.checkpoint_every, w.batch_size)
		});
	let from = u64::from(checkpoint).saturating_mul(every.into()).min(steps.into());
	let to = u64::from(checkpoint).saturating_add(1).saturating_mul(every.into()).min(steps.into());
	CommitmentPayload {
		job,
		checkpoint,
		step: to,
		loss_digest: H256::repeat_byte(digest),
		gradient_digest: H256::repeat_byte(digest),
		weights_digest: H256::repeat_byte(digest),
		delta_root: H256::repeat_byte(digest),
		state_cid: Cid::truncate_from(vec![b'b', digest]),
		samples: (to - from).saturating_mul(batch.into()),
		backend_class: backend,
		node,
		work: last.then_some(100),
	}
}

fn did_action(op: &DidOp, did: DidId) -> pallet_did::DidActionOf<Test> {
	use pallet_did::DidAction;
	match op {
		DidOp::SetMetadata => DidAction::SetMetadata { metadata: Some(did_cid(0)) },
		DidOp::AddController(who) => DidAction::AddController { account: who.account() },
		DidOp::RemoveController(who) => DidAction::RemoveController { account: who.account() },
		DidOp::Revoke => DidAction::Revoke,
		DidOp::Grant { dataset, grantee, expires } => DidAction::GrantAccess {
			dataset: did_cid(*dataset),
			grantee: did_of(*grantee),
			expires_at: System::block_number() + u64::from(*expires),
			encrypted_key: did_cid(2),
		},
		DidOp::RevokeAccess { dataset, grantee } => {
			DidAction::RevokeAccess { dataset: did_cid(*dataset), grantee: did_of(*grantee) }
		}
		DidOp::Budget { dataset, grantee, epsilon } => DidAction::SetPrivacyBudget {
			dataset: did_cid(*dataset),
			grantee: did_of(*grantee),
			budget: epsilon.map(|epsilon_milli| PrivacyBudget {
				epsilon_milli,
				delta: Perbill::from_parts(1_000),
			}),
		},
		DidOp::Record { dataset, grantor } => {
			DidAction::RecordAccess { dataset: did_cid(*dataset), grantor: did_of(*grantor) }
		}
		DidOp::Rotate { new_key } => {
			let nonce = pallet_did::Documents::<Test>::get(did).map_or(0, |doc| doc.nonce);
			DidAction::RotateKeys {
				auth_key: pallet_did::AuthKey::Sr25519(did_pair(*new_key).public()),
				key_proof: did_sign(*new_key, &pallet_did::types::rotation_message(&did, nonce)),
				encryption_key: None,
			}
		}
	}
}

/// The DID pallet's call for `op` by a controller of `did`.
fn did_call(op: &DidOp, did: DidId) -> pallet_did::Call<Test> {
	use pallet_did::{Call, DidAction};
	match did_action(op, did) {
		DidAction::SetMetadata { metadata } => Call::set_metadata { did, metadata },
		DidAction::AddController { account } => Call::add_controller { did, account },
		DidAction::RemoveController { account } => Call::remove_controller { did, account },
		DidAction::Revoke => Call::revoke { did },
		DidAction::GrantAccess { dataset, grantee, expires_at, encrypted_key } => {
			Call::grant_access { did, dataset, grantee, expires_at, encrypted_key }
		}
		DidAction::RevokeAccess { dataset, grantee } => {
			Call::revoke_access { did, dataset, grantee }
		}
		DidAction::SetPrivacyBudget { dataset, grantee, budget } => {
			Call::set_privacy_budget { did, dataset, grantee, budget }
		}
		DidAction::RecordAccess { dataset, grantor } => {
			Call::record_access { did, dataset, grantor }
		}
		DidAction::RotateKeys { auth_key, key_proof, encryption_key } => {
			Call::rotate_keys { did, auth_key, key_proof, encryption_key }
		}
	}
}

fn next_job() -> u64 {
	pallet_proof_of_compute::NextJobId::<Test>::get()
}

/// The job `id` names; [`Id::Live`] picks among the jobs in `states`.
fn job_in(id: Id, states: &[JobState]) -> JobId {
	let live = || {
		let mut jobs: Vec<u64> = pallet_proof_of_compute::Jobs::<Test>::iter()
			.filter(|(_, info)| states.contains(&info.state))
			.map(|(job, _)| job)
			.collect();
		jobs.sort();
		jobs
	};
	let live = if matches!(id, Id::Live(_)) { live() } else { Vec::new() };
	id.among(live, next_job()) as JobId
}

/// The job `id` names; [`Id::Live`] picks among the open jobs.
fn job_id(id: Id) -> JobId {
	use JobState::*;
	job_in(id, &[Created, Assigned, Running, Verifying, Accepted, Disputed])
}

fn proposal_id(id: Id) -> u32 {
	let mut live: Vec<u64> =
		pallet_model_registry::Proposals::<Test>::iter_keys().map(u64::from).collect();
	live.sort();
	id.among(live, pallet_model_registry::NextProposalId::<Test>::get().into()) as u32
}

fn model_id(id: Id) -> u32 {
	id.of(pallet_model_registry::NextModelId::<Test>::get().into()) as u32
}

/// Applies `action` in the current block; a block boundary ends it and runs the next ones.
pub fn apply(action: &Action) -> Applied {
	if tracing() {
		println!("block {}: {action:?}", System::block_number());
	}
	use pallet_model_registry::Call as Models;
	use pallet_node_registry::Call as Registry;
	use pallet_proof_of_compute::{
		traps::{trap_seal, Call as Traps, TrapTask},
		Call as Jobs,
	};
	match action.clone() {
		Action::Advance(_) => unreachable!("the fuzzer runs blocks itself"),
		Action::Register { who, key, roles: bits, gpu, stake } => {
			let roles = roles(bits).into_inner();
			result(register_as(who.origin(), who.account(), key, roles, gpu, stake))
		}
		Action::UpdateNode { who, node, roles: bits, gpu } => {
			let node = node_of(node, &Context { job: job_id(Id::Back(0)) });
			let who = who.of_node(node);
			dispatch(
				who,
				Registry::update {
					node,
					roles: roles(bits),
					region: BoundedVec::truncate_from(b"us".to_vec()),
					capabilities: capabilities(gpu),
				},
			)
		}
		Action::BondExtra { who, node, amount } => {
			let node = node_of(node, &Context { job: job_id(Id::Back(0)) });
			let who = who.of_node(node);
			dispatch(who, Registry::bond_extra { node, amount })
		}
		Action::AttestHardware { who, node } => {
			let node = node_of(node, &Context { job: job_id(Id::Back(0)) });
			let who = who.of_node(node);
			dispatch(who, Registry::attest_hardware { node, hw_hash: H256::repeat_byte(7) })
		}
		Action::Deregister { who, node } => {
			let node = node_of(node, &Context { job: job_id(Id::Back(0)) });
			let who = who.of_node(node);
			dispatch(who, Registry::deregister { node })
		}
		Action::WithdrawUnbonded { who, node } => {
			let node = node_of(node, &Context { job: job_id(Id::Back(0)) });
			let who = who.of_node(node);
			dispatch(who, Registry::withdraw_unbonded { node })
		}
		Action::Reactivate { who, node } => {
			let node = node_of(node, &Context { job: job_id(Id::Back(0)) });
			let who = who.of_node(node);
			dispatch(who, Registry::reactivate { node })
		}
		Action::SetEndpoint { who, node, len } => {
			let node = node_of(node, &Context { job: job_id(Id::Back(0)) });
			let who = who.of_node(node);
			let endpoint = BoundedVec::truncate_from(vec![b'h'; usize::from(len)]);
			dispatch(who, Registry::set_endpoint { node, endpoint })
		}
		Action::LinkDid { who, node, did } => {
			let node = node_of(node, &Context { job: job_id(Id::Back(0)) });
			let who = who.of_node(node);
			dispatch(who, Registry::link_did { node, did: did.map(did_of) })
		}
		Action::Heartbeat { node, forge, period_shift } => {
			let node = node_of(node, &Context { job: job_id(Id::Back(0)) });
			let now = System::block_number();
			let period = NodeRegistry::period_of(now).saturating_add_signed(period_shift.into());
			let heartbeat = pallet_node_registry::Heartbeat { node, period, block: now };
			let signature =
				sign(&signer(node, forge), &heartbeat.signed_bytes(&NodeRegistry::genesis_hash()));
			authorized(Registry::heartbeat { heartbeat, signature })
		}
		Action::ForceReset { who, node } => {
			let node = node_of(node, &Context { job: job_id(Id::Back(0)) });
			let who = who.of_node(node);
			dispatch(who, pallet_reputation::Call::force_reset { node })
		}
		Action::SetSpotCheckBase { who, parts } => dispatch(
			who,
			pallet_reputation::Call::set_spot_check_base { base: Permill::from_parts(parts) },
		),
		Action::DidCreate { who, key, proof_for_other } => {
			let prover = if proof_for_other { HOSTILE + 1 } else { who.account() };
			let pair = did_pair(key);
			dispatch(
				who,
				pallet_did::Call::create {
					auth_key: pallet_did::AuthKey::Sr25519(pair.public()),
					key_proof: did_sign(key, &pallet_did::types::creation_message(&prover)),
					encryption_key: None,
					metadata: None,
				},
			)
		}
		Action::DidCall { who, did, op } => {
			let did = did_of(did);
			dispatch(who, did_call(&op, did))
		}
		Action::DidOperation { did, forge, nonce_shift, op } => {
			let did = did_of(did);
			let nonce = pallet_did::Documents::<Test>::get(did)
				.map_or(0, |doc| doc.nonce)
				.saturating_add_signed(nonce_shift.into());
			let operation = pallet_did::DidOperation { did, nonce, action: did_action(&op, did) };
			let genesis = System::block_hash(0);
			let signature = did_sign(
				forge.map_or_else(|| did_signer(&did), |k| k % DID_KEYS),
				&pallet_did::types::operation_message(&genesis, &operation),
			);
			authorized(pallet_did::Call::submit_operation { operation, signature })
		}
		Action::RegisterModel { who, owner_did, digest } => dispatch(
			who,
			Models::register_model {
				owner_did: owner_did.map(did_of),
				name: BoundedVec::truncate_from(b"model".to_vec()),
				architecture: BoundedVec::truncate_from(b"mlp".to_vec()),
				metadata: Cid::truncate_from(b"bafkmeta".to_vec()),
				weights: Cid::truncate_from(vec![b'w', digest]),
				digest: H256::repeat_byte(digest),
			},
		),
		Action::DeprecateVersion { who, model, version } => {
			dispatch(who, Models::deprecate_version { model: model_id(model), version })
		}
		Action::ProposeTraining { who, model, job } => {
			let spec = spec(&job);
			let dataset = u32::from(job.dataset);
			dispatch(
				who,
				Models::propose_training {
					model: model_id(model),
					base_digest: spec.base_digest,
					architecture: spec.architecture,
					dataset,
					hyper_parameters: spec.hyper_parameters,
					texts: spec.texts,
					trainer_build: spec.trainer_build,
					backend: spec.backend,
					budget: job.budget,
					redundancy: job.redundancy,
					duration: job.duration,
				},
			)
		}
		Action::ProposeDataset { who, cid, shards, owner, granted } => dispatch(
			who,
			Models::propose_dataset {
				cid: Cid::truncate_from(vec![b'd', cid]),
				shards,
				licence: BoundedVec::truncate_from(b"CC0".to_vec()),
				owner: did_of(owner),
				consent: if granted { DatasetConsent::Granted } else { DatasetConsent::Public },
			},
		),
		Action::ProposeDatasetRemoval { who, dataset } => {
			let next = pallet_model_registry::NextDatasetId::<Test>::get();
			dispatch(
				who,
				Models::propose_dataset_removal { dataset: dataset.of(next.into()) as u32 },
			)
		}
		Action::Approve { who, proposal } => {
			dispatch(who, Models::approve { proposal: proposal_id(proposal) })
		}
		Action::Reject { who, proposal } => {
			dispatch(who, Models::reject { proposal: proposal_id(proposal) })
		}
		Action::Close { who, proposal } => {
			dispatch(who, Models::close { proposal: proposal_id(proposal) })
		}
		Action::SetTrainingPolicy { who, model, anyone } => dispatch(
			who,
			Models::set_training_policy {
				model: model_id(model),
				policy: if anyone {
					pallet_model_registry::TrainingPolicy::Anyone
				} else {
					pallet_model_registry::TrainingPolicy::OwnerOnly
				},
			},
		),
		Action::SetApprovalThreshold { who, threshold } => {
			dispatch(who, Models::set_approval_threshold { threshold })
		}
		Action::ProposeApprovalThreshold { who, threshold } => {
			dispatch(who, Models::propose_approval_threshold { threshold })
		}
		Action::CreateJob { who, job } => dispatch(
			who,
			Jobs::create_job {
				spec: spec(&job),
				budget: job.budget,
				redundancy: job.redundancy,
				deadline: deadline(job.duration),
			},
		),
		Action::CreateFederatedJob { who, job, participants, shards, private } => dispatch(
			who,
			Jobs::create_federated_job {
				spec: spec(&job),
				budget: job.budget,
				participants,
				shards,
				deadline: deadline(job.duration),
				privacy: private.then_some(DpParameters {
					clip_milli: 1_000,
					noise_multiplier_milli: 1_100,
					sampling: Perbill::from_percent(10),
					delta: Perbill::from_parts(1_000),
				}),
			},
		),
		Action::CancelJob { who, job } => {
			let job = job_in(job, &[JobState::Created]);
			dispatch(who.of_job(job), Jobs::cancel_job { job })
		}
		Action::Commit { job, node, forge, checkpoint, digest } => {
			let job = job_in(job, &[JobState::Assigned, JobState::Running]);
			let node = node_of(node, &Context { job });
			let checkpoint = if checkpoint == CURRENT {
				pallet_proof_of_compute::NextCheckpoint::<Test>::get(job, node)
			} else {
				checkpoint
			};
			let payload = payload(job, node, checkpoint, digest);
			let commit = pallet_proof_of_compute::Commit {
				job,
				checkpoint,
				node,
				hash: commitment_hash(&payload, node, &salt(node)),
			};
			let signature = node_sign(node, forge, &commit);
			authorized(Jobs::commit { commit, signature })
		}
		Action::Reveal { job, node, forge, checkpoint, digest } => {
			let job = job_in(job, &[JobState::Running]);
			let node = node_of(node, &Context { job });
			let checkpoint = if checkpoint == CURRENT {
				(0..8)
					.find(|c| {
						pallet_proof_of_compute::Commits::<Test>::contains_key((job, node, c))
							&& !pallet_proof_of_compute::Reveals::<Test>::contains_key((
								job, node, c,
							))
					})
					.unwrap_or(0)
			} else {
				checkpoint
			};
			let reveal = pallet_proof_of_compute::Reveal {
				payload: payload(job, node, checkpoint, digest),
				salt: salt(node),
			};
			let signature = node_sign(node, forge, &reveal);
			authorized(Jobs::reveal { reveal, signature })
		}
		Action::Challenge { who, job, checkpoint } => {
			dispatch(who, Jobs::challenge { job: job_in(job, &[JobState::Accepted]), checkpoint })
		}
		Action::SetChallengeWindow { who, blocks } => {
			dispatch(who, Jobs::set_challenge_window { blocks })
		}
		Action::SealTrap { who, job, seed, expected } => {
			let source = job_in(job, &[JobState::Accepted, JobState::Finalized]);
			let task = TrapTask { source, seed: seed.into() };
			let (setter, expected) = (who.account(), H256::repeat_byte(expected));
			let seal = trap_seal(&task, &expected, &[setter as u8; 32], &setter);
			dispatch(who, Traps::seal_trap { task, seal })
		}
		Action::RevealTrap { who, job, expected } => {
			let mut posted: Vec<u64> =
				pallet_proof_of_compute::traps::PostedTraps::<Test>::iter_keys().collect();
			posted.sort();
			dispatch(
				who,
				Traps::reveal_trap {
					job: job.among(posted, next_job()),
					expected: H256::repeat_byte(expected),
					salt: [who.account() as u8; 32],
				},
			)
		}
		Action::ChallengeAvailability { who, job, node, checkpoint } => {
			let job = job_in(job, &[JobState::Running, JobState::Verifying, JobState::Accepted]);
			let node = node_of(node, &Context { job });
			dispatch(who, Jobs::challenge_availability { job, node, checkpoint })
		}
		Action::ReportAvailability { check, forge, served } => {
			let mut open: Vec<u64> =
				pallet_proof_of_compute::AvailabilityChecks::<Test>::iter_keys().collect();
			open.sort();
			let check =
				check.among(open, pallet_proof_of_compute::NextAvailabilityCheck::<Test>::get());
			let validator = pallet_proof_of_compute::AvailabilityChecks::<Test>::get(check)
				.map_or(u32::MAX, |check| check.validator);
			let report = pallet_proof_of_compute::AvailabilityReport { check, validator, served };
			let signature = node_sign(validator, forge, &report);
			authorized(Jobs::report_availability { report, signature })
		}
		Action::SubmitAggregation { job, node, forge, round_shift, digest } => {
			let mut federated: Vec<u64> =
				pallet_proof_of_compute::Federations::<Test>::iter_keys().collect();
			federated.sort();
			let job = job.among(federated, next_job());
			let node = node_of(node, &Context { job });
			let federation = pallet_proof_of_compute::Federations::<Test>::get(job);
			let round = federation
				.as_ref()
				.map_or(0, |f| f.round)
				.saturating_add_signed(round_shift.into());
			// What an honest aggregator averaged: the round's inputs, in order; `digest`
			// names the average it claims.
			let inputs = ProofOfCompute::round_inputs(job, round);
			let cids: Vec<Cid> = inputs.into_iter().map(|(_, payload)| payload.state_cid).collect();
			let aggregation = pallet_proof_of_compute::Aggregation {
				job,
				round,
				node,
				state_cid: Cid::truncate_from(vec![b'a', digest]),
				weights_digest: H256::repeat_byte(digest),
				inputs_root: pallet_proof_of_compute::types::inputs_root(
					cids.iter().map(|cid| cid.as_slice()),
				),
				participants: cids.len() as u32,
				noise: ProofOfCompute::round_noise(job, round),
			};
			let signature = node_sign(node, forge, &aggregation);
			authorized(Jobs::submit_aggregation { aggregation, signature })
		}
		Action::SetTrapRate { who, percent } => {
			dispatch(who, Traps::set_trap_rate { rate: Perbill::from_percent(percent) })
		}
		Action::ForceNextStep { who, job } => {
			dispatch(who, Jobs::force_next_step { job: job_id(job) })
		}
		Action::PanelCommit { job, member, forge, draw_shift, digest } => {
			let job = job_in(job, &[JobState::Disputed]);
			let node = node_of(member, &Context { job });
			let (verdict, draw) = verdict(job, node, digest, draw_shift);
			let commit = pallet_proof_of_compute::PanelCommit {
				job,
				checkpoint: verdict.checkpoint,
				node,
				draw,
				hash: pallet_proof_of_compute::types::verdict_hash(&verdict, &salt(node)),
			};
			let signature = node_sign(node, forge, &commit);
			authorized(Jobs::panel_commit { commit, signature })
		}
		Action::PanelReveal { job, member, forge, draw_shift, digest } => {
			let job = job_in(job, &[JobState::Disputed]);
			let node = node_of(member, &Context { job });
			let (verdict, _) = verdict(job, node, digest, draw_shift);
			let reveal = pallet_proof_of_compute::PanelReveal { verdict, salt: salt(node) };
			let signature = node_sign(node, forge, &reveal);
			authorized(Jobs::panel_reveal { reveal, signature })
		}
	}
}

/// Member `node`'s verdict on the disputed segment of `job`, and the draw it answers.
fn verdict(
	job: JobId,
	node: NodeId,
	digest: u8,
	draw_shift: i8,
) -> (pallet_proof_of_compute::Verdict, u32) {
	let dispute = pallet_proof_of_compute::Disputes::<Test>::get(job);
	let checkpoint = dispute.as_ref().map_or(0, |d| d.segment.checkpoint);
	let draw = dispute.map_or(0, |d| d.draws).saturating_add_signed(draw_shift.into());
	let verdict = pallet_proof_of_compute::Verdict {
		job,
		checkpoint,
		node,
		weights_digest: H256::repeat_byte(digest),
		state_cid: Cid::truncate_from(vec![b'b', digest]),
		distances: Default::default(),
	};
	(verdict, draw)
}
