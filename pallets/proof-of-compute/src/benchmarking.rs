//! Benchmarks of every call, the authorize paths, assignment, finalization, a panel's
//! deadline and a replica's replacement, each at its worst: full queues, the most replicas,
//! the last reveal that triggers verification, the longest bisection (`MaxCheckpoints`), a
//! full panel. An authorized call is benchmarked as its whole extrinsic, its authorize path
//! included ([`applied_as_authorized`]). The traps pallet's benchmarks post their jobs with
//! [`accepted_job_of`].

use super::*;
use crate::types::{inputs_root, verdict_hash, vote_of, AGGREGATORS, MAX_AVAILABILITY_DRAWS};
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::{Authorize, TransactionSource},
	traits::{fungible::Mutate, Get, UnfilteredDispatchable},
	weights::WeightMeter,
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	sp_core::H256,
	sp_runtime::{
		traits::{Bounded, Saturating},
		Perbill, RuntimeAppPublic,
	},
};
use tessera_primitives::NodeSigned as _;
use tessera_primitives::{
	commitment_hash, Architecture, BackendClass, Cid, CommitmentPayload, HyperParameters, JobState,
	NodePublic, TrainedWeights,
};

/// Applies `call` as a block does: its authorize path, then its dispatch by the origin that
/// path grants. Each authorized call's benchmark measures this, its whole extrinsic, and the
/// call charges what the dispatch adds ([`tessera_primitives::dispatch_after_authorize`]).
fn applied_as_authorized<T: Config>(call: Call<T>) -> Result<(), BenchmarkError> {
	call.authorize(TransactionSource::InBlock)
		.ok_or("the call has an authorize path")?
		.map_err(|_| "the call is authorized")?;
	call.dispatch_bypass_filter(RawOrigin::Authorized.into())
		.map_err(|_| "the authorized call is dispatched")?;
	Ok(())
}

fn funded<T: Config>(name: &'static str) -> T::AccountId {
	let who: T::AccountId = account(name, 0, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

/// A job whose every checkpoint is its last: one checkpoint.
/// The DID that owns the benchmarks' dataset and grants it to every benchmark trainer.
const DATA_OWNER: tessera_primitives::DidId = tessera_primitives::DidId([0xda; 32]);

/// The largest job spec, its dataset approved (for grantees only, so that draws check
/// consent) and its base state registered.
fn spec<T: Config>() -> JobSpec {
	let spec = unregistered_spec();
	let base = spec.base_state().expect("the spec starts from a base state");
	T::Inputs::register_for_benchmarks(&spec.dataset, &DATA_OWNER, &base);
	// A job on granted data needs its owner's DID live; granting itself makes it so.
	T::Consent::grant_for_benchmarks(&spec.dataset, &DATA_OWNER, &DATA_OWNER);
	spec
}

/// An active trainer, linked to a DID the benchmarks' data owner granted its dataset.
fn trainer<T: Config>(index: u32) -> (NodeId, NodePublic) {
	let (node, key) = T::BenchmarkHelper::trainer(index);
	let did = tessera_primitives::DidId(polkadot_sdk::sp_io::hashing::blake2_256(
		&codec::Encode::encode(&(b"trainer", index)),
	));
	T::BenchmarkHelper::link_did(node, did);
	T::Consent::grant_for_benchmarks(&unregistered_spec().dataset, &DATA_OWNER, &did);
	(node, key)
}

fn unregistered_spec() -> JobSpec {
	let cid = Cid::truncate_from(alloc::vec![b'b'; tessera_primitives::job::MAX_CID_LEN as usize]);
	let hidden = alloc::vec![u32::MAX; tessera_primitives::job::MAX_HIDDEN_LAYERS as usize];
	JobSpec {
		architecture: Architecture::Mlp { hidden: hidden.try_into().expect("exactly the bound") },
		base_weights: cid.clone(),
		base_digest: H256::repeat_byte(1),
		dataset: cid,
		hyper_parameters: HyperParameters {
			learning_rate: Perbill::from_percent(10),
			batch_size: 32,
			steps: 10,
			checkpoint_every: 10,
			seed: 1,
			optimizer: tessera_primitives::Optimizer::Sgd,
		},
		texts: Default::default(),
		trainer_build: H256::repeat_byte(2),
		backend: BackendClass::CpuReference,
	}
}

fn deadline<T: Config>() -> BlockNumberFor<T> {
	frame_system::Pallet::<T>::block_number() + 1_000u32.into()
}

/// Fills the assignment queue and the deadline's due list to one short of their bounds.
fn crowd<T: Config>(deadline: BlockNumberFor<T>) {
	let pending: Vec<JobId> =
		(0..T::MaxPendingJobs::get().saturating_sub(1)).map(|i| 1_000_000 + u64::from(i)).collect();
	Pending::<T>::put(BoundedVec::truncate_from(pending));
	let due: Vec<JobId> =
		(0..T::MaxDuePerBlock::get().saturating_sub(1)).map(|i| 2_000_000 + u64::from(i)).collect();
	Due::<T>::insert(deadline, BoundedVec::truncate_from(due));
}

/// A posted job with the most replicas, assigned to freshly registered trainers.
fn running_job<T: Config>() -> (JobId, Vec<(NodeId, NodePublic)>) {
	running_job_of::<T>(funded::<T>("requester"), spec::<T>())
}

/// [`running_job`] of `spec`, posted by `requester`.
fn running_job_of<T: Config>(
	requester: T::AccountId,
	spec: JobSpec,
) -> (JobId, Vec<(NodeId, NodePublic)>) {
	let replicas = T::MaxRedundancy::get();
	let job = Pallet::<T>::do_create_job(
		requester,
		spec,
		T::MinBudget::get().saturating_mul(1_000u32.into()),
		replicas,
		deadline::<T>(),
		JobKind::Replicated,
		None,
	)
	.expect("a valid job");
	let trainers: Vec<_> = (0..u32::from(replicas)).map(trainer::<T>).collect();
	let nodes = BoundedVec::truncate_from(trainers.iter().map(|(node, _)| *node).collect());
	Pending::<T>::mutate(|pending| pending.retain(|pending| *pending != job));
	Pallet::<T>::start(job, nodes, frame_system::Pallet::<T>::block_number());
	(job, trainers)
}

/// A job of the most replicas for `requester` (funded here), assigned in this block, every
/// replica having committed and revealed the same result, and accepted: what a trap springs
/// on in the traps pallet's benchmarks.
pub(crate) fn accepted_job_of<T: Config>(
	requester: T::AccountId,
) -> Result<JobId, polkadot_sdk::sp_runtime::DispatchError> {
	T::Currency::set_balance(&requester, BalanceOf::<T>::max_value() / 4u32.into());
	// The treasury posts traps: funded, it can post a re-run of this job.
	T::Currency::set_balance(&T::Treasury::get(), BalanceOf::<T>::max_value() / 4u32.into());
	let (job, trainers) = running_job_of::<T>(requester, spec::<T>());
	for (node, _) in &trainers {
		Pallet::<T>::do_commit(commit_of(job, *node))?;
	}
	for (node, _) in &trainers {
		Pallet::<T>::do_reveal(reveal_of(job, *node))?;
	}
	Pallet::<T>::verify(job);
	Ok(job)
}

fn payload(job: JobId, node: NodeId) -> CommitmentPayload {
	payload_of(job, node, 0)
}

/// What `node` reveals for `checkpoint` of `job`, ten steps each.
fn payload_of(job: JobId, node: NodeId, checkpoint: u32) -> CommitmentPayload {
	CommitmentPayload {
		job,
		checkpoint,
		step: u64::from(checkpoint + 1) * 10,
		loss_digest: H256::repeat_byte(3),
		gradient_digest: H256::repeat_byte(4),
		weights_digest: H256::repeat_byte(5),
		delta_root: H256::repeat_byte(6),
		state_cid: Cid::truncate_from(
			alloc::vec![b's'; tessera_primitives::job::MAX_CID_LEN as usize],
		),
		samples: 320,
		backend_class: BackendClass::CpuReference,
		node,
		work: Some(3_600),
	}
}

const SALT: [u8; 32] = [7; 32];

fn commit_of(job: JobId, node: NodeId) -> Commit {
	Commit { job, checkpoint: 0, node, hash: commitment_hash(&payload(job, node), node, &SALT) }
}

fn reveal_of(job: JobId, node: NodeId) -> Reveal {
	Reveal { payload: payload(job, node), salt: SALT }
}

/// Every replica committed; all but the last revealed.
fn all_but_one_revealed<T: Config>() -> (JobId, (NodeId, NodePublic)) {
	let (job, trainers) = running_job::<T>();
	for (node, _) in &trainers {
		Pallet::<T>::do_commit(commit_of(job, *node)).expect("a due commit");
	}
	let (last, others) = trainers.split_last().expect("at least one replica");
	for (node, _) in others {
		Pallet::<T>::do_reveal(reveal_of(job, *node)).expect("a due reveal");
	}
	(job, last.clone())
}

fn accepted_job<T: Config>() -> JobId {
	let (job, (last, _)) = all_but_one_revealed::<T>();
	Pallet::<T>::do_reveal(reveal_of(job, last)).expect("the last reveal");
	Pallet::<T>::verify(job);
	job
}

/// What replica `index` reports at `checkpoint` of a job of `checkpoints`: the same as every
/// other replica at checkpoint 0, and from then on its own digest when `diverging`.
fn long_payload(
	job: JobId,
	(index, node): (usize, NodeId),
	checkpoint: u32,
	checkpoints: u32,
	diverging: bool,
) -> CommitmentPayload {
	let digest = if diverging && checkpoint > 0 { 10 + index as u8 } else { 5 };
	CommitmentPayload {
		checkpoint,
		step: u64::from(checkpoint + 1) * 10,
		weights_digest: H256::repeat_byte(digest),
		work: (checkpoint + 1 == checkpoints).then_some(3_600),
		..payload(job, node)
	}
}

/// A job of `MaxCheckpoints` checkpoints and the most replicas, every checkpoint committed
/// and revealed except the last replica's final one, and twice a panel of validators
/// registered: the job, that missing reveal and the key of its node.
fn long_job<T: Config>(diverging: bool) -> (JobId, Reveal, NodePublic) {
	let checkpoints = T::MaxCheckpoints::get();
	let mut spec = spec::<T>();
	spec.hyper_parameters.steps = checkpoints * 10;
	let (job, trainers) = running_job_of::<T>(funded::<T>("requester"), spec);
	for index in 0..T::PanelSize::get() * 2 {
		T::BenchmarkHelper::validator(index);
	}
	let now = frame_system::Pallet::<T>::block_number();
	let last = checkpoints - 1;
	for (index, (node, _)) in trainers.iter().enumerate() {
		for checkpoint in 0..checkpoints {
			let payload = long_payload(job, (index, *node), checkpoint, checkpoints, diverging);
			Commits::<T>::insert((job, *node, checkpoint), commitment_hash(&payload, *node, &SALT));
			if index + 1 < trainers.len() || checkpoint < last {
				let vote = vote_of(&payload.weights_digest, &payload.state_cid);
				Tallies::<T>::try_append(job, checkpoint, (*node, vote)).expect("a seat each");
				Reveals::<T>::insert((job, *node, checkpoint), payload);
			}
		}
		NextCheckpoint::<T>::insert(job, *node, checkpoints);
	}
	// At its fullest, the final checkpoint's tally also counts the nodes that held a seat
	// before and stopped.
	for gone in 0..T::MaxReplacements::get() {
		let node = NodeId::MAX - gone;
		let payload = long_payload(job, (gone as usize, node), last, checkpoints, diverging);
		let vote = vote_of(&payload.weights_digest, &payload.state_cid);
		Tallies::<T>::try_append(job, last, (node, vote)).expect("within the seats' holders");
		Commits::<T>::insert((job, node, last), commitment_hash(&payload, node, &SALT));
		Reveals::<T>::insert((job, node, last), payload);
	}
	for checkpoint in 0..checkpoints {
		CommitRounds::<T>::insert(job, checkpoint, (T::MaxRedundancy::get(), now));
	}
	let agreed = long_payload(job, (0, trainers[0].0), 0, checkpoints, diverging);
	LastAgreed::<T>::insert(
		job,
		(0, TrainedWeights { weights: agreed.state_cid, digest: agreed.weights_digest }),
	);
	Jobs::<T>::mutate(job, |info| {
		if let Some(info) = info {
			info.state = JobState::Running;
		}
	});
	let (node, key) = trainers.last().cloned().expect("at least one replica");
	let index = trainers.len() - 1;
	let payload = long_payload(job, (index, node), last, checkpoints, diverging);
	(job, Reveal { payload, salt: SALT }, key)
}

/// A job without a majority: [`long_job`] diverging, its last reveal in, under dispute.
fn disputed_job<T: Config>() -> JobId {
	let (job, last, _) = long_job::<T>(true);
	Pallet::<T>::do_reveal(last).expect("the last reveal");
	Pallet::<T>::verify(job);
	assert!(!Panels::<T>::get(job).is_empty(), "validators were drawn");
	job
}

/// Validators enough for every draw an availability check may make.
fn availability_validators<T: Config>() {
	for index in 0..T::PanelSize::get().saturating_add(MAX_AVAILABILITY_DRAWS) {
		T::BenchmarkHelper::validator(index);
	}
}

/// An availability check someone asked for of an accepted job's state, and its validator's
/// signed report that the content is missing: the report that draws another validator.
fn open_check<T: Config>() -> (u64, AvailabilityReport, tessera_primitives::NodeSignature) {
	let job = accepted_job::<T>();
	let node = Assignments::<T>::get(job).expect("assigned")[0];
	availability_validators::<T>();
	Pallet::<T>::do_challenge_availability(funded::<T>("challenger"), job, node, 0)
		.expect("a validator is drawn");
	let id = NextAvailabilityCheck::<T>::get() - 1;
	let validator = AvailabilityChecks::<T>::get(id).expect("open").validator;
	let report = AvailabilityReport { check: id, validator, served: false };
	let signature = member_key::<T>(validator)
		.sign(&report.signed_bytes(&Pallet::<T>::genesis_hash()))
		.expect("it signs");
	(id, report, signature)
}

const PANEL_SALT: [u8; 32] = [9; 32];

/// The key of panel member `node`.
fn member_key<T: Config>(node: NodeId) -> NodePublic {
	<T::Nodes as tessera_primitives::NodeInspect<T::AccountId>>::node_key(node)
		.expect("a registered validator")
}

/// The verdict that upholds replica 0: every other replica diverged from it.
fn upholding_verdict<T: Config>(job: JobId, node: NodeId) -> Verdict {
	let dispute = Disputes::<T>::get(job).expect("disputed");
	Verdict {
		job,
		checkpoint: dispute.segment.checkpoint,
		node,
		weights_digest: H256::repeat_byte(10),
		state_cid: payload(job, node).state_cid,
		distances: Default::default(),
	}
}

fn panel_commit_of<T: Config>(verdict: &Verdict) -> PanelCommit {
	PanelCommit {
		job: verdict.job,
		checkpoint: verdict.checkpoint,
		node: verdict.node,
		draw: Disputes::<T>::get(verdict.job).expect("disputed").draws,
		hash: verdict_hash(verdict, &PANEL_SALT),
	}
}

/// A federated job of two rounds with the most participants, assigned, with as many spare
/// trainers and twice the aggregators' seats in validators registered.
fn federated_job<T: Config>() -> (JobId, Vec<(NodeId, NodePublic)>) {
	let participants = T::MaxRedundancy::get();
	let mut spec = spec::<T>();
	spec.hyper_parameters.steps = 30;
	let job = Pallet::<T>::do_create_federated_job(
		funded::<T>("requester"),
		spec,
		T::MinBudget::get().saturating_mul(1_000u32.into()),
		FederatedJob { participants, shards: 16, privacy: None },
		deadline::<T>(),
	)
	.expect("a valid job");
	let trainers: Vec<_> = (0..u32::from(participants)).map(trainer::<T>).collect();
	for index in u32::from(participants)..u32::from(participants) * 2 {
		trainer::<T>(index);
	}
	for index in 0..AGGREGATORS * 2 {
		T::BenchmarkHelper::validator(index);
	}
	let nodes = BoundedVec::truncate_from(trainers.iter().map(|(node, _)| *node).collect());
	Pending::<T>::mutate(|pending| pending.retain(|pending| *pending != job));
	Pallet::<T>::start(job, nodes, frame_system::Pallet::<T>::block_number());
	(job, trainers)
}

/// [`federated_job`] with every participant's first update in, and the signed aggregate of
/// the first aggregator in turn.
/// `round` of a federated job closed and its first aggregator's signed aggregate ready; the
/// rounds before it aggregated.
fn closed_round<T: Config>(round: u32) -> (JobId, Aggregation, tessera_primitives::NodeSignature) {
	let (job, trainers) = federated_job::<T>();
	for earlier in 0..round {
		let aggregation = round_trained::<T>(job, &trainers, earlier);
		Pallet::<T>::do_submit_aggregation(aggregation).expect("the aggregator's turn");
	}
	let aggregation = round_trained::<T>(job, &trainers, round);
	let signature = member_key::<T>(aggregation.node)
		.sign(&aggregation.signed_bytes(&Pallet::<T>::genesis_hash()))
		.expect("it signs");
	(job, aggregation, signature)
}

/// Every participant commits and reveals its update for `round`; returns the aggregate
/// the round's first aggregator may submit.
fn round_trained<T: Config>(
	job: JobId,
	trainers: &[(NodeId, NodePublic)],
	round: u32,
) -> Aggregation {
	for (node, _) in trainers {
		let hash = commitment_hash(&payload_of(job, *node, round), *node, &SALT);
		Pallet::<T>::do_commit(Commit { job, checkpoint: round, node: *node, hash })
			.expect("a due commit");
	}
	for (node, _) in trainers {
		let payload = payload_of(job, *node, round);
		Pallet::<T>::do_reveal(Reveal { payload, salt: SALT }).expect("a due reveal");
	}
	let federation = Federations::<T>::get(job).expect("federated");
	let node = *federation.aggregators.first().expect("aggregators were drawn");
	let cids: Vec<Cid> =
		federation.inputs.iter().map(|input| payload_of(job, *input, round).state_cid).collect();
	Aggregation {
		job,
		round,
		node,
		state_cid: payload(job, node).state_cid,
		weights_digest: H256::repeat_byte(8),
		inputs_root: inputs_root(cids.iter().map(|cid| cid.as_slice())),
		participants: cids.len() as u32,
		noise: Pallet::<T>::round_noise(job, round),
	}
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_job() {
		let requester = funded::<T>("requester");
		let deadline = deadline::<T>();
		crowd::<T>(deadline);
		let budget = T::MinBudget::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(requester), spec::<T>(), budget, T::MaxRedundancy::get(), deadline);

		assert_eq!(Pending::<T>::get().len() as u32, T::MaxPendingJobs::get());
	}

	#[benchmark]
	fn cancel_job() {
		let requester = funded::<T>("requester");
		let deadline = deadline::<T>();
		crowd::<T>(deadline);
		let job = Pallet::<T>::do_create_job(
			requester.clone(),
			spec::<T>(),
			T::MinBudget::get(),
			1,
			deadline,
			JobKind::Replicated,
			None,
		)
		.expect("a valid job");

		#[extrinsic_call]
		_(RawOrigin::Signed(requester), job);

		assert_eq!(Jobs::<T>::get(job).map(|info| info.state), Some(JobState::Cancelled));
	}

	/// A draw from a full sample of candidates, each checked for consent to the data.
	#[benchmark]
	fn assign_job() {
		let requester = funded::<T>("requester");
		for index in 0..T::CandidateSample::get().max(u32::from(T::MaxRedundancy::get())) {
			trainer::<T>(index);
		}
		let job = Pallet::<T>::do_create_job(
			requester,
			spec::<T>(),
			T::MinBudget::get(),
			T::MaxRedundancy::get(),
			deadline::<T>(),
			JobKind::Replicated,
			None,
		)
		.expect("a valid job");
		let now = frame_system::Pallet::<T>::block_number();

		#[block]
		{
			Pallet::<T>::assign_pending(now, &mut WeightMeter::new());
		}

		assert!(Assignments::<T>::get(job).is_some(), "enough trainers were found");
	}

	#[benchmark]
	fn commit() -> Result<(), BenchmarkError> {
		let (job, trainers) = running_job::<T>();
		let (node, key) = trainers[0].clone();
		let commitment = commit_of(job, node);
		let signature = key
			.sign(&commitment.signed_bytes(&Pallet::<T>::genesis_hash()))
			.expect("the keystore signs");
		let call = Call::<T>::commit { commit: commitment, signature };

		#[block]
		{
			applied_as_authorized::<T>(call)?;
		}

		assert_eq!(NextCheckpoint::<T>::get(job, node), 1);
		Ok(())
	}

	#[benchmark]
	fn authorize_commit() -> Result<(), BenchmarkError> {
		let (job, trainers) = running_job::<T>();
		let (node, key) = trainers[0].clone();
		let commitment = commit_of(job, node);
		let signature = key
			.sign(&commitment.signed_bytes(&Pallet::<T>::genesis_hash()))
			.expect("the keystore signs");
		let call = Call::<T>::commit { commit: commitment, signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("commit has authorize logic")?
				.map_err(|_| "a due commit is authorized")?;
		}

		Ok(())
	}

	/// The last reveal of the most replicas of the longest job: it records the work and
	/// schedules verification for the next block.
	#[benchmark]
	fn reveal() -> Result<(), BenchmarkError> {
		let (job, opening, key) = long_job::<T>(true);
		let signature = key
			.sign(&opening.signed_bytes(&Pallet::<T>::genesis_hash()))
			.expect("the keystore signs");
		let call = Call::<T>::reveal { reveal: opening, signature };

		#[block]
		{
			applied_as_authorized::<T>(call)?;
		}

		let next = frame_system::Pallet::<T>::block_number() + 1u32.into();
		assert!(Due::<T>::get(next).contains(&job));
		Ok(())
	}

	/// Verification of the longest job, its most replicas all disagreeing: it bisects the
	/// whole job and draws a panel.
	#[benchmark]
	fn verify_result() {
		let (job, last, _) = long_job::<T>(true);
		Pallet::<T>::do_reveal(last).expect("the last reveal");

		#[block]
		{
			Pallet::<T>::verify(job);
		}

		assert_eq!(Jobs::<T>::get(job).map(|info| info.state), Some(JobState::Disputed));
		assert!(!Panels::<T>::get(job).is_empty());
	}

	/// The final reveal of the longest job: its previous checkpoint is looked up too.
	#[benchmark]
	fn authorize_reveal() -> Result<(), BenchmarkError> {
		let (_, opening, key) = long_job::<T>(true);
		let signature = key
			.sign(&opening.signed_bytes(&Pallet::<T>::genesis_hash()))
			.expect("the keystore signs");
		let call = Call::<T>::reveal { reveal: opening, signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("reveal has authorize logic")?
				.map_err(|_| "a due reveal is authorized")?;
		}

		Ok(())
	}

	/// A challenge of the longest job: it bisects and draws a panel.
	#[benchmark]
	fn challenge() {
		let (job, last, _) = long_job::<T>(false);
		Pallet::<T>::do_reveal(last).expect("the last reveal");
		Pallet::<T>::verify(job);
		let challenger = funded::<T>("challenger");

		#[extrinsic_call]
		_(RawOrigin::Signed(challenger), job, 1);

		assert_eq!(Jobs::<T>::get(job).map(|info| info.state), Some(JobState::Disputed));
		assert!(!Panels::<T>::get(job).is_empty());
	}

	#[benchmark]
	fn panel_commit() -> Result<(), BenchmarkError> {
		let job = disputed_job::<T>();
		let member = Panels::<T>::get(job)[0];
		let sealed = panel_commit_of::<T>(&upholding_verdict::<T>(job, member));
		let signature = member_key::<T>(member)
			.sign(&sealed.signed_bytes(&Pallet::<T>::genesis_hash()))
			.expect("it signs");
		let call = Call::<T>::panel_commit { commit: sealed, signature };

		#[block]
		{
			applied_as_authorized::<T>(call)?;
		}

		assert!(PanelCommits::<T>::contains_key(job, member));
		Ok(())
	}

	#[benchmark]
	fn authorize_panel_commit() -> Result<(), BenchmarkError> {
		let job = disputed_job::<T>();
		let member = Panels::<T>::get(job)[0];
		let sealed = panel_commit_of::<T>(&upholding_verdict::<T>(job, member));
		let signature = member_key::<T>(member)
			.sign(&sealed.signed_bytes(&Pallet::<T>::genesis_hash()))
			.expect("it signs");
		let call = Call::<T>::panel_commit { commit: sealed, signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("panel_commit has authorize logic")?
				.map_err(|_| "a member's commit is authorized")?;
		}

		Ok(())
	}

	/// The last verdict of a full panel: it convicts every replica but one, pays the panel,
	/// bisects the longest job again and draws the next panel.
	#[benchmark]
	fn panel_reveal() -> Result<(), BenchmarkError> {
		let job = disputed_job::<T>();
		let panel = Panels::<T>::get(job);
		for member in &panel {
			Pallet::<T>::do_panel_commit(panel_commit_of::<T>(&upholding_verdict::<T>(
				job, *member,
			)))
			.expect("a member's commit");
		}
		let (last, others) = panel.split_last().expect("a panel");
		for member in others {
			let verdict = upholding_verdict::<T>(job, *member);
			Pallet::<T>::do_panel_reveal(PanelReveal { verdict, salt: PANEL_SALT })
				.expect("a member's reveal");
		}
		let opening = PanelReveal { verdict: upholding_verdict::<T>(job, *last), salt: PANEL_SALT };
		let signature = member_key::<T>(*last)
			.sign(&opening.signed_bytes(&Pallet::<T>::genesis_hash()))
			.expect("it signs");
		let settled = Disputes::<T>::get(job).map(|dispute| dispute.segment.checkpoint);
		let call = Call::<T>::panel_reveal { reveal: opening, signature };

		#[block]
		{
			applied_as_authorized::<T>(call)?;
		}

		let dispute = Disputes::<T>::get(job).expect("the survivor's last segment is next");
		assert_ne!(Some(dispute.segment.checkpoint), settled);
		assert_eq!(dispute.convicted.len(), usize::from(T::MaxRedundancy::get()) - 1);
		Ok(())
	}

	#[benchmark]
	fn authorize_panel_reveal() -> Result<(), BenchmarkError> {
		let job = disputed_job::<T>();
		let panel = Panels::<T>::get(job);
		for member in &panel {
			Pallet::<T>::do_panel_commit(panel_commit_of::<T>(&upholding_verdict::<T>(
				job, *member,
			)))
			.expect("a member's commit");
		}
		let opening =
			PanelReveal { verdict: upholding_verdict::<T>(job, panel[0]), salt: PANEL_SALT };
		let signature = member_key::<T>(panel[0])
			.sign(&opening.signed_bytes(&Pallet::<T>::genesis_hash()))
			.expect("it signs");
		let call = Call::<T>::panel_reveal { reveal: opening, signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("panel_reveal has authorize logic")?
				.map_err(|_| "a member's reveal is authorized")?;
		}

		Ok(())
	}

	/// A replica of the longest job stops: it is slashed and another trainer drawn, which
	/// resumes the last agreed state.
	#[benchmark]
	fn replace_replica() {
		let (job, last, _) = long_job::<T>(true);
		let gone = last.payload.node;
		trainer::<T>(u32::from(T::MaxRedundancy::get()));

		#[block]
		{
			Pallet::<T>::replace_replica(job, gone);
		}

		let replicas = Assignments::<T>::get(job).expect("assigned");
		assert!(!replicas.contains(&gone));
	}

	/// A panel whose every member stayed silent: all are replaced and a new panel drawn.
	#[benchmark]
	fn panel_expired() {
		let job = disputed_job::<T>();
		let silent = Panels::<T>::get(job);
		let deadline = Disputes::<T>::get(job).expect("disputed").deadline;
		frame_system::Pallet::<T>::set_block_number(deadline);

		#[block]
		{
			Pallet::<T>::panel_expired(job, deadline);
		}

		// No silent member is seated again. (The runtime has validators for two panels, so a
		// new one is seated; the unit-test runtime's four cannot seat a majority without
		// the silent.)
		assert!(Panels::<T>::get(job).iter().all(|member| !silent.contains(member)));
	}

	/// A check of an accepted job's state: a validator is drawn and the check queued.
	#[benchmark]
	fn challenge_availability() {
		let job = accepted_job::<T>();
		let node = Assignments::<T>::get(job).expect("assigned")[0];
		availability_validators::<T>();
		let challenger = funded::<T>("challenger");

		#[extrinsic_call]
		_(RawOrigin::Signed(challenger), job, node, 0);

		assert!(CheckOf::<T>::contains_key((job, node, 0)));
	}

	/// A sampled reveal's check opened by `on_poll`: a validator is drawn among them all.
	#[benchmark]
	fn open_sampled_check() {
		let job = accepted_job::<T>();
		let node = Assignments::<T>::get(job).expect("assigned")[0];
		availability_validators::<T>();
		SampledReveals::<T>::insert((job, node, 0), ());
		// One check, and the look at the queue `open_sampled_checks` pays for first.
		let mut meter = WeightMeter::with_limit(
			T::WeightInfo::open_sampled_check().saturating_add(T::DbWeight::get().reads(1)),
		);

		#[block]
		{
			Pallet::<T>::open_sampled_checks(&mut meter);
		}

		assert!(CheckOf::<T>::contains_key((job, node, 0)));
		assert!(!SampledReveals::<T>::contains_key((job, node, 0)));
	}

	/// The heavier report: the content is missing, and another validator is drawn.
	#[benchmark]
	fn report_availability() -> Result<(), BenchmarkError> {
		let (id, report, signature) = open_check::<T>();
		let first = report.validator;
		let call = Call::<T>::report_availability { report, signature };

		#[block]
		{
			applied_as_authorized::<T>(call)?;
		}

		let check = AvailabilityChecks::<T>::get(id).expect("still open");
		assert!(check.validator != first && check.missing == 1);
		Ok(())
	}

	#[benchmark]
	fn authorize_report_availability() -> Result<(), BenchmarkError> {
		let (_, report, signature) = open_check::<T>();
		let call = Call::<T>::report_availability { report, signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("report_availability has authorize logic")?
				.map_err(|_| "the validator's report is authorized")?;
		}

		Ok(())
	}

	/// A check whose validator said nothing in its window: it is slashed, another drawn.
	#[benchmark]
	fn availability_expired() {
		let (id, _, _) = open_check::<T>();
		let check = AvailabilityChecks::<T>::get(id).expect("open");
		let due = check.deadline + 1u32.into();
		frame_system::Pallet::<T>::set_block_number(due);

		#[block]
		{
			Pallet::<T>::expire_availability_checks(due, &mut WeightMeter::new());
		}

		let redrawn = AvailabilityChecks::<T>::get(id).expect("still open");
		assert!(redrawn.validator != check.validator && redrawn.earlier.len() == 1);
	}

	/// One pruning step at its most: a finalized job with a full batch of commits and
	/// reveals left, and of every other map pruned by job.
	#[benchmark]
	fn prune_job() {
		let job = accepted_job::<T>();
		let info = Jobs::<T>::get(job).expect("accepted");
		Pallet::<T>::pay(job, info, &[], JobState::Finalized);
		let (node, payload) = Reveals::<T>::iter_prefix((job,))
			.next()
			.map(|((node, _), payload)| (node, payload))
			.expect("revealed");
		for checkpoint in 0..crate::retention::PRUNE_BATCH {
			let other = 10_000 + checkpoint;
			Reveals::<T>::insert((job, node, other), payload.clone());
			Commits::<T>::insert((job, node, other), H256::repeat_byte(1));
			LostContent::<T>::insert((job, node, other), ());
			CommitRounds::<T>::insert(job, other, (1u8, frame_system::Pallet::<T>::block_number()));
			Tallies::<T>::insert(
				job,
				other,
				Tally::<T>::truncate_from(alloc::vec![(node, H256::zero())]),
			);
			NextCheckpoint::<T>::insert(job, other, other);
			Aggregations::<T>::insert(
				job,
				other,
				Aggregation {
					job,
					round: other,
					node,
					state_cid: payload.state_cid.clone(),
					weights_digest: payload.weights_digest,
					inputs_root: H256::zero(),
					participants: 1,
					noise: None,
				},
			);
			UpheldUpdates::<T>::insert(job, (other, node), ());
		}
		Prunable::<T>::insert(job, ());

		#[block]
		{
			Pallet::<T>::prune_step(job);
		}

		let left = Commits::<T>::iter_prefix((job,)).count() as u32;
		assert!(left < crate::retention::PRUNE_BATCH, "a batch of commits is gone");
	}

	#[benchmark]
	fn set_challenge_window() {
		let blocks = T::DefaultChallengeWindow::get().saturating_add(1u32.into());

		#[extrinsic_call]
		_(RawOrigin::Root, blocks);

		assert_eq!(ChallengeWindow::<T>::get(), blocks);
	}

	/// Finalizing a replicated job of `r` replicas that all agreed, every one paid, whose
	/// seats `c` earlier holders gave up, what they delivered cleared.
	#[benchmark]
	fn finalize(
		r: Linear<1, { u32::from(T::MaxRedundancy::get()) }>,
		c: Linear<0, { T::MaxReplacements::get() }>,
	) {
		let job = accepted_job::<T>();
		let ends = Jobs::<T>::get(job)
			.and_then(|info| info.result)
			.map(|result| result.challenge_ends)
			.expect("accepted");
		// Fewer replicas: keep the first `r`, and only what they delivered.
		let replicas = Assignments::<T>::get(job).expect("assigned");
		for node in replicas.iter().skip(r as usize) {
			Contributions::<T>::remove(job, node);
		}
		Assignments::<T>::insert(job, BoundedVec::truncate_from(replicas[..r as usize].to_vec()));
		Jobs::<T>::mutate(job, |info| {
			if let Some(info) = info {
				info.redundancy = r as u8;
			}
		});
		let first_earlier = u32::from(T::MaxRedundancy::get());
		for index in first_earlier..first_earlier + c {
			let (node, _) = trainer::<T>(index);
			Contributions::<T>::insert(job, node, (1, 3_600));
		}
		frame_system::Pallet::<T>::set_block_number(ends);

		#[block]
		{
			Pallet::<T>::process_due(ends, &mut WeightMeter::new());
		}

		assert_eq!(Jobs::<T>::get(job).map(|info| info.state), Some(JobState::Finalized));
		assert_eq!(Contributions::<T>::iter_prefix(job).count(), 0);
	}

	/// Finalizing a federated job whose `c` contributors are every one paid for the rounds
	/// they trained, its latest aggregate's author paid its fee.
	#[benchmark]
	fn finalize_federated(
		c: Linear<1, { u32::from(T::MaxRedundancy::get()) + T::MaxReplacements::get() }>,
	) {
		let (job, aggregation, _) = closed_round::<T>(1);
		Pallet::<T>::do_submit_aggregation(aggregation.clone()).expect("the aggregator's turn");
		let _ = Contributions::<T>::clear_prefix(job, u32::MAX, None);
		// The participants first, then nodes that held their seats before, registered after
		// the `federated_job`'s twice as many trainers.
		let participants = Assignments::<T>::get(job).expect("assigned").into_inner();
		let earlier = (2 * u32::from(T::MaxRedundancy::get())..).map(|index| trainer::<T>(index).0);
		for node in participants.into_iter().chain(earlier).take(c as usize) {
			Contributions::<T>::insert(job, node, (1, 3_600));
		}
		let ends = frame_system::Pallet::<T>::block_number();
		Jobs::<T>::mutate(job, |info| {
			if let Some(info) = info {
				info.state = JobState::Accepted;
				info.result = Some(AgreedResult {
					weights_digest: aggregation.weights_digest,
					state_cid: aggregation.state_cid.clone(),
					challenge_ends: ends,
				});
			}
		});

		#[block]
		{
			Pallet::<T>::take_next_step(job, ends);
		}

		assert_eq!(Jobs::<T>::get(job).map(|info| info.state), Some(JobState::Finalized));
		assert_eq!(Payouts::<T>::get(job).len() as u32, c);
	}

	#[benchmark]
	fn create_federated_job() {
		let requester = funded::<T>("requester");
		let deadline = deadline::<T>();
		crowd::<T>(deadline);
		let budget = T::MinBudget::get();

		// Private, sampling participants: the accountant's every order, each summed over all
		// its terms.
		let privacy = Some(tessera_primitives::DpParameters {
			clip_milli: 1_000,
			noise_multiplier_milli: 1_000,
			sampling: Perbill::from_percent(50),
			delta: Perbill::from_parts(10_000),
		});

		#[extrinsic_call]
		_(
			RawOrigin::Signed(requester),
			spec::<T>(),
			budget,
			T::MaxRedundancy::get(),
			16,
			deadline,
			privacy,
		);

		assert!(Federations::<T>::iter().all(|(_, federation)| federation.privacy.is_some()));
	}

	/// The aggregate of the biggest round: the most participants, each credited, and the
	/// round before's author paid now that its aggregate is superseded.
	#[benchmark]
	fn submit_aggregation() -> Result<(), BenchmarkError> {
		let (job, aggregation, signature) = closed_round::<T>(1);
		let previous = Aggregations::<T>::get(job, 0).expect("round 0 aggregated").node;
		let call = Call::<T>::submit_aggregation { aggregation, signature };

		#[block]
		{
			applied_as_authorized::<T>(call)?;
		}

		assert_eq!(Federations::<T>::get(job).map(|federation| federation.round), Some(2));
		assert_eq!(AggregatesAtStake::<T>::get(previous, job), None);
		Ok(())
	}

	/// A challenge of an update of the biggest round, its aggregate still awaited: a panel is
	/// drawn to train the update again.
	#[benchmark]
	fn challenge_update() {
		let (job, _, _) = closed_round::<T>(1);
		let node = Federations::<T>::get(job).expect("federated").inputs[0];
		let challenger = funded::<T>("challenger");

		#[extrinsic_call]
		_(RawOrigin::Signed(challenger), job, 1, node);

		assert_eq!(Jobs::<T>::get(job).map(|info| info.state), Some(JobState::Disputed));
		assert!(!Panels::<T>::get(job).is_empty());
	}

	/// A participant's update of the biggest round proven wrong while the next round, every
	/// update in, awaits its aggregate: the round's aggregate is paid, both rounds are undone,
	/// the seat handed over and the round opened again.
	#[benchmark]
	fn retrain_round() {
		let (job, trainers) = federated_job::<T>();
		for round in 0..2 {
			let aggregation = round_trained::<T>(job, &trainers, round);
			Pallet::<T>::do_submit_aggregation(aggregation).expect("the aggregator's turn");
		}
		round_trained::<T>(job, &trainers, 2);
		let info = Jobs::<T>::get(job).expect("posted");
		let lazy = trainers[0].0;

		#[block]
		{
			Pallet::<T>::retrain_round(job, info, 1, lazy);
		}

		assert_eq!(Federations::<T>::get(job).map(|federation| federation.round), Some(1));
		assert!(!Assignments::<T>::get(job).expect("assigned").contains(&lazy));
	}

	#[benchmark]
	fn authorize_submit_aggregation() -> Result<(), BenchmarkError> {
		let (_, aggregation, signature) = closed_round::<T>(0);
		let call = Call::<T>::submit_aggregation { aggregation, signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("submit_aggregation has authorize logic")?
				.map_err(|_| "the aggregator's turn is authorized")?;
		}

		Ok(())
	}

	/// A round's deadline with no update in: every participant is replaced.
	#[benchmark]
	fn round_due() {
		let (job, trainers) = federated_job::<T>();
		let info = Jobs::<T>::get(job).expect("posted");
		let due = Federations::<T>::get(job).expect("federated").deadline;
		frame_system::Pallet::<T>::set_block_number(due);

		#[block]
		{
			Pallet::<T>::round_due(job, info, due);
		}

		let participants = Assignments::<T>::get(job).expect("assigned");
		assert!(trainers.iter().all(|(node, _)| !participants.contains(node)));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
