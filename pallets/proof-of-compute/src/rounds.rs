//! Federated training in rounds (SPEC §5).
//!
//! [`Pallet::create_federated_job`]`(spec, budget, participants, shards, deadline)` posts a
//! job whose checkpoints are its rounds (`steps / checkpoint_every` of them). When round `r`
//! opens ([`Event::RoundOpened`]), randomness fixes the data shard of every participant
//! (`blake2_256(node ‖ seed ‖ r) mod shards`); each participant's trainer trains
//! `checkpoint_every` steps on the samples whose index is its shard modulo `shards`, from
//! the round's start state (the previous round's aggregate; round 0 from the job's start),
//! and the worker commits and reveals the update as checkpoint `r`, as replicas do. An
//! update must claim between one sample and what a round trains on
//! (`checkpoint_every × batch_size`).
//!
//! The round closes once every participant revealed, or at its deadline
//! ([`Config::RoundWindow`], 100 blocks) if [`Config::RoundQuorum`] (80%) of them did;
//! whoever did not deliver is replaced for the next round. Short of the quorum its
//! stragglers are replaced (no stake is taken, reputation is) and the round waits another
//! window. A participant whose node stops is replaced for the first round still taking
//! updates.
//!
//! Three validators that trained nothing of the job, drawn by reputation, then take turns,
//! [`Config::AggregatorGrace`] (10) blocks apart ([`Event::RoundClosed`]), to commit the
//! federated average of the round's updates: the first whose turn has come has its trainer
//! average them (`POST /v1/aggregate`, weighted by samples) and sends
//! [`Pallet::submit_aggregation`] with the aggregate's CID, its digest, the Merkle root
//! (blake2-256) of the averaged updates' state CIDs and their number. The chain checks the
//! root and the number against the round's reveals itself and opens the next round; the
//! digest only a re-execution can check. After [`Config::MaxAggregatorDraws`] (3) draws in
//! which nobody aggregated, the job fails. The next round starts from the aggregate; the
//! last one is the job's result, accepted with the usual challenge window, and participants
//! are paid for the work of the rounds whose updates went into aggregates.
//!
//! An aggregator earns `fee × (1 + participants / 1 000)` ([`Config::AggregatorFee`], 0.1
//! TSRA; participants counted up to 1 000) from the budget, and may leave, only once its
//! aggregate can no longer be challenged: when the next round's aggregate supersedes it, a
//! panel upholds it, or the job ends ([`AggregatesAtStake`]); until then its node cannot
//! deregister and its stake answers for it. An aggregate a panel replaces earns nothing.
//!
//! The latest aggregate may be challenged ([`Pallet::challenge`]`(job, round)`, the same
//! bond) until the next one is committed, or until the challenge window of the result
//! closes: a panel of validators, not the aggregator, re-computes it from the round's
//! updates. A wrong aggregate slashes its author (10%, 50% if it named the right state with
//! a wrong digest), pays the challenger, replaces the aggregate with the panel's, and
//! rewinds the job to the round after it ([`Event::RoundsRewound`]); an honest one costs the
//! challenger the bond, shared by its author and the panel, and the rounds go on. After a
//! conviction the aggregate names a panel member that computed it as its node: that
//! member's trainer serves its state to the next round's participants and aggregators, whose
//! trainers fetch what they lack (updates and the round's start state) from whoever
//! committed it.
//!
//! A participant's update may be challenged too ([`Pallet::challenge_update`]`(job, round,
//! node)`, the same bond), once its round closed and for as long as the round's aggregate
//! is the latest (or still awaited) and the job's result may be challenged: the update of a
//! lazy participant that trained nothing, or copied another's update, is otherwise paid
//! like training and averaged into the model. A panel of validators that trained nothing of
//! the job trains the participant's shard of the round again, on the reference backend,
//! from the round's start state (the aggregate of the round before, or the job's own start)
//! — the shard drawn from the round's randomness, which the federation keeps for the round
//! before ([`Federation::seed_of`]) — and compares digest and state as for any segment. A
//! wrong update costs its author the failed-verification slash, its seat (a replacement is
//! drawn) and all it earned of the job, and pays the challenger the bounty; the round's
//! aggregate, if one was committed, averaged what it was given and its author is paid for
//! it, and the round is trained again without the update, on the same shards from the same
//! start, so that only the replacement trains anything ([`Event::RoundRetrained`]; an
//! accepted result built on it is void until then). An
//! honest update costs the challenger the bond, shared by the participant and the panel,
//! and can never be challenged again ([`UpheldUpdates`]). Updates of a GPU job are not
//! challengeable: the reference backend does not reproduce them to the bit, and measuring
//! them as a GPU dispute does is not built.
//!
//! A federated job may be private: `create_federated_job(…, privacy)` declares
//! [`DpParameters`](tessera_primitives::DpParameters) (clipping norm C, noise multiplier σ,
//! sampling rate q, δ, all integers: thousandths and `Perbill`). The chain states the ε the
//! job spends with a Rényi-DP accountant of the sampled Gaussian mechanism over the job's
//! rounds ([`tessera_primitives::privacy::epsilon`]: integer orders 2–64, the conversion of
//! Balle et al., decimal fixed point, rounded up to the thousandth; its tests match Google's
//! `dp-accounting` 0.6.0 to the thousandth, for q below one too), and emits it in
//! [`Event::FederatedJobCreated`]. Each job spends its ε from the grant of every participant
//! drawn to it, where the grant has a privacy budget (the DID pallet's `set_privacy_budget`).
//!
//! A round realises the mechanism the accountant charges for, DP-FedAvg with Poisson
//! sampling of participants and a fixed denominator (McMahan et al., 2018). The unit it
//! protects is one participant's update of a round, the thing clipping bounds. Every round
//! each participant takes part independently with probability q, drawn from the round's
//! randomness ([`takes_part`]; anyone who reads [`Federation::seed`] derives who was drawn);
//! the others sit the round out: their trainers train nothing, the chain refuses their
//! commits, and the round waits only for those drawn (its quorum is of them; a round that
//! drew nobody is complete at once, its aggregate the start state and noise). The
//! aggregator's trainer clips every update's change to C, weighs it by its samples over a
//! full round's, divides the sum by the participants a round expects (q × the job's seats)
//! and adds Gaussian noise of σ × C / (q × seats) to every coordinate
//! ([`AggregatePrivacy`](tessera_primitives::trainer_api::AggregatePrivacy)): adding or
//! removing one participant moves the sum by at most C whoever else was drawn, the
//! sensitivity the accountant assumes. Participants are sampled, not the examples inside
//! their runs: with examples sampled, every participant's clipped update would still be in
//! every round, and the accountant's q would understate ε.
//!
//! The aggregate's commitment names the noise it added ([`Aggregation::noise`]: C, σ, q, the
//! seats, the samples a round trains each on, and a noise seed hashed from the round's
//! randomness, so no two rounds, nor a round opened again after a rewind, draw the same).
//! The chain refuses an aggregate that names other noise than its round's
//! ([`Error::WrongNoise`]); a panel re-computing a challenged aggregate has its trainer draw
//! the noise the aggregate names, so one that added other noise re-computes to another
//! digest and its author is convicted.
//!
//! Limits of the guarantee, as built. The mechanism is central DP, which trusts whoever
//! sees the updates, and here everyone may: every update and aggregate is content that
//! anyone fetches by CID from the public endpoint of the node that committed it (so that
//! aggregators and panels can), and the noise seed is public once its round opens. So
//! whoever fetches a round's updates computes their noiseless average, and whoever holds
//! an aggregate's state can subtract its noise: the ε the chain charges bounds what the
//! released model reveals only while updates and seeds stay among the round's
//! participants, aggregators and panels, which nothing enforces yet. A secret seed alone
//! would not do; updates and seeds would both have to travel encrypted to the aggregators'
//! and panels' keys. Besides: a record is in the update of every participant whose shard
//! holds it, and two participants may draw the same shard, doubling its weight in the
//! round; and rounds a rewind or a convicted update retrains are released again without
//! being charged again.

use crate::{pallet::*, types::*, FederationOf, JobInfoOf, LOG_TARGET};
use alloc::vec::Vec;
use codec::Encode;
use polkadot_sdk::{
	frame_support::{pallet_prelude::*, traits::Randomness},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_core::H256,
	sp_runtime::{
		traits::{One, Saturating},
		Perbill,
	},
};
use tessera_primitives::{
	Cid, JobId, JobSpec, JobState, NodeId, NodeInspect, NodeRole, Outcome, ReputationSink,
	TrainedWeights,
};

/// Participants an aggregation fee grows with, up to twice the fee.
const FEE_PARTICIPANTS: u32 = 1_000;

impl<T: Config> Pallet<T> {
	pub(crate) fn do_create_federated_job(
		requester: T::AccountId,
		spec: JobSpec,
		budget: crate::BalanceOf<T>,
		FederatedJob { participants, shards, privacy }: FederatedJob,
		deadline: BlockNumberFor<T>,
	) -> Result<JobId, DispatchError> {
		ensure!(shards > 0, Error::<T>::NoShards);
		let hyper = &spec.hyper_parameters;
		let rounds = checkpoint_count(hyper.steps, hyper.checkpoint_every).unwrap_or_default();
		let privacy = match privacy {
			// Updates are clipped against the state their round started from: a private job
			// starts from a registered version, not from its seed.
			Some(_) if spec.base_state().is_none() => return Err(Error::<T>::InvalidPrivacy.into()),
			// A sampling rate below one is what each round draws its participants with
			// (`Federation::takes_part`), so the ε of that rate is the one spent.
			Some(parameters) => {
				let epsilon = tessera_primitives::privacy::epsilon(&parameters, rounds)
					.ok_or(Error::<T>::InvalidPrivacy)?;
				Some((parameters, epsilon))
			}
			None => None,
		};
		let spend = privacy.map(|(parameters, epsilon)| (epsilon, parameters.delta));
		let job = Self::do_create_job(
			requester,
			spec,
			budget,
			participants,
			deadline,
			JobKind::Federated,
			spend,
		)?;
		Federations::<T>::insert(
			job,
			Federation {
				shards,
				round: 0,
				seed: H256::zero(),
				previous_seed: None,
				deadline,
				closed: None,
				inputs: Default::default(),
				previous_inputs: Default::default(),
				aggregators: Default::default(),
				draws: 0,
				settled: None,
				privacy,
			},
		);
		let epsilon_milli = privacy.map(|(_, epsilon)| epsilon);
		Self::deposit_event(Event::FederatedJobCreated { job, rounds, shards, epsilon_milli });
		Ok(job)
	}

	/// Opens `round`: draws the randomness its shards are drawn from, and fixes its
	/// deadline.
	pub(crate) fn open_round(job: JobId, round: u32, now: BlockNumberFor<T>) {
		let (seed, _) = T::Randomness::random(&(b"tessera/round", job, round).encode());
		let seed = H256(polkadot_sdk::sp_io::hashing::blake2_256(&seed.encode()));
		Self::open_round_with(job, round, seed, now);
	}

	/// Opens `round` with the randomness `seed` and fixes its deadline.
	fn open_round_with(job: JobId, round: u32, seed: H256, now: BlockNumberFor<T>) {
		let Some(mut federation) = Federations::<T>::get(job) else { return };
		Self::clear_aggregator_duties(job, &federation);
		// A rewind opens the same round again: the round before keeps its inputs.
		if round == federation.round.saturating_add(1) {
			federation.previous_inputs = core::mem::take(&mut federation.inputs);
			federation.previous_seed = Some(federation.seed);
		} else if round < federation.round {
			// A round trained again after the next one opened: the inputs and randomness of
			// the round before it are gone, and its aggregate is final
			// ([`Self::retrain_round`]).
			federation.previous_inputs = Default::default();
			federation.previous_seed = None;
		}
		federation.round = round;
		federation.seed = seed;
		federation.deadline = now.saturating_add(T::RoundWindow::get());
		federation.closed = None;
		federation.inputs = Default::default();
		federation.aggregators = Default::default();
		federation.draws = 0;
		if federation.samples() {
			// A participant that sat rounds out committed none of them: the round is the
			// next checkpoint it may commit.
			for node in Assignments::<T>::get(job).unwrap_or_default() {
				if NextCheckpoint::<T>::get(job, node) < round {
					Self::commit_next(job, node, round);
				}
			}
			// A sample with nobody in it is a draw like any other: the round is complete
			// without an update, its aggregate the start state and the noise alone. Its
			// deadline is the next block, whose scheduled step closes it, so that whatever
			// opened it does not also pay for drawing its aggregators.
			if Self::round_complete(job, &federation) {
				federation.deadline = now.saturating_add(One::one());
			}
		}
		Self::schedule(job, federation.deadline);
		let deadline = federation.deadline;
		Federations::<T>::insert(job, federation);
		Self::deposit_event(Event::RoundOpened { job, round, deadline });
	}

	/// The shard `node` trains on in the current round of federated job `job`: the round,
	/// the shard and the shard count; `None` when the node sits the round out, not drawn by
	/// a job that samples its participants ([`Federation::takes_part`]).
	pub fn shard(job: JobId, node: NodeId) -> Option<(u32, u32, u32)> {
		let federation = Federations::<T>::get(job)?;
		if !federation.takes_part(node) {
			return None;
		}
		let shard = shard_of(node, &federation.seed, federation.round, federation.shards);
		Some((federation.round, shard, federation.shards))
	}

	/// The shard `node` trained on in `round` of federated job `job`, and the shard count,
	/// while the round's updates may be challenged ([`Federation::seed_of`]).
	pub fn shard_in(job: JobId, node: NodeId, round: u32) -> Option<(u32, u32)> {
		let federation = Federations::<T>::get(job)?;
		let seed = federation.seed_of(round)?;
		Some((shard_of(node, &seed, round, federation.shards), federation.shards))
	}

	/// A participant revealed its update, or one was replaced: the round closes once every
	/// participant taking part has revealed.
	pub(crate) fn update_revealed(job: JobId) {
		let Some(federation) = Federations::<T>::get(job) else { return };
		if federation.closed.is_none() && Self::round_complete(job, &federation) {
			Self::close_round(job, federation);
		}
	}

	/// Whether the round in progress has every update it waits for: every participant
	/// taking part revealed one, and there was at least one. A round with no participant
	/// left is not closed without inputs: its window runs out, window after window, until
	/// the job's own deadline fails the job. But a job that samples may draw nobody of its
	/// participants, or see those it drew replaced by ones it did not: that round is
	/// complete with no update, since the mechanism the job's ε accounts for releases a
	/// round whoever was drawn.
	fn round_complete(job: JobId, federation: &FederationOf<T>) -> bool {
		let (delivered, stragglers) = Self::deliveries(job, federation);
		let sampled_nobody = federation.samples()
			&& delivered.is_empty()
			&& Assignments::<T>::get(job).is_some_and(|participants| !participants.is_empty());
		stragglers.is_empty() && (!delivered.is_empty() || sampled_nobody)
	}

	/// Stops taking updates for the current round, replaces whoever did not deliver one for
	/// the next round, and draws the round's aggregators.
	fn close_round(job: JobId, mut federation: FederationOf<T>) {
		let round = federation.round;
		let (delivered, stragglers) = Self::deliveries(job, &federation);
		for node in &stragglers {
			Self::replace_participant(job, *node, round.saturating_add(1), &stragglers);
		}
		federation.inputs = BoundedVec::truncate_from(delivered);
		Self::draw_aggregators(job, &mut federation);
		Self::deposit_event(Event::RoundClosed {
			job,
			round,
			participants: federation.inputs.len() as u32,
			aggregators: federation.aggregators.clone(),
		});
		Federations::<T>::insert(job, federation);
	}

	/// The participants of `job` taking part in the round in progress that revealed their
	/// update for it, and those that did not; those sitting it out are neither.
	fn deliveries(job: JobId, federation: &FederationOf<T>) -> (Vec<NodeId>, Vec<NodeId>) {
		Assignments::<T>::get(job)
			.unwrap_or_default()
			.into_iter()
			.filter(|node| federation.takes_part(*node))
			.partition(|node| Reveals::<T>::contains_key((job, *node, federation.round)))
	}

	/// Seats the round's aggregators in turn: active validators that train nothing of the
	/// job and held no seat for the round already.
	fn draw_aggregators(job: JobId, federation: &mut FederationOf<T>) {
		let now = frame_system::Pallet::<T>::block_number();
		let participants = Assignments::<T>::get(job).unwrap_or_default();
		let before = federation.aggregators.clone();
		Self::clear_aggregator_duties(job, federation);
		let subject = (b"tessera/aggregators", job, federation.round, federation.draws).encode();
		let validator = NodeRole::Validator;
		let drawn = Self::draw_nodes(&subject, AGGREGATORS, validator, &participants, |node| {
			T::Nodes::is_active(node)
				&& T::Nodes::has_role(node, NodeRole::Validator)
				&& !federation.inputs.contains(&node)
				&& !before.contains(&node)
		});
		for node in &drawn {
			AggregatorDuties::<T>::insert(node, job, ());
		}
		federation.aggregators = BoundedVec::truncate_from(drawn);
		federation.draws = federation.draws.saturating_add(1);
		federation.closed = Some(now);
		Self::schedule(job, Self::last_turn_ends(now));
	}

	/// When the last of the aggregators of a round closed at `closed` has had its turn.
	fn last_turn_ends(closed: BlockNumberFor<T>) -> BlockNumberFor<T> {
		closed.saturating_add(T::AggregatorGrace::get().saturating_mul(AGGREGATORS.into()))
	}

	pub(crate) fn clear_aggregator_duties(job: JobId, federation: &FederationOf<T>) {
		for node in &federation.aggregators {
			AggregatorDuties::<T>::remove(node, job);
		}
	}

	/// Hands `gone`'s seat to another eligible trainer, none of the round's `stragglers`,
	/// which joins at `from_round`; no stake is taken, since missing a round's deadline
	/// proves no fault.
	fn replace_participant(job: JobId, gone: NodeId, from_round: u32, stragglers: &[NodeId]) {
		if !Jobs::<T>::contains_key(job) {
			return;
		}
		T::Reputation::report(gone, Outcome::JobFailed);
		let by = Self::hand_over(job, gone, from_round, stragglers);
		Self::deposit_event(Event::ParticipantReplaced { job, node: gone, by });
	}

	/// A deadline of a federated job passed: the job's own fails it; a round's lets the
	/// round proceed with a quorum of updates, or else replaces its stragglers and waits
	/// another window; the aggregators' last turn draws others, a few times, then fails it.
	pub(crate) fn round_due(job: JobId, info: JobInfoOf<T>, now: BlockNumberFor<T>) {
		if info.deadline <= now {
			Self::fail(job, info);
			return;
		}
		let Some(mut federation) = Federations::<T>::get(job) else { return };
		let round = federation.round;
		match federation.closed {
			None if federation.deadline <= now => {
				let (delivered, stragglers) = Self::deliveries(job, &federation);
				// A quorum of those the round waits for: the participants it drew, for a job
				// that samples them, or else the job's seats.
				let waited_for = if federation.samples() {
					(delivered.len() + stragglers.len()) as u32
				} else {
					u32::from(info.redundancy)
				};
				let quorum = T::RoundQuorum::get().mul_ceil(waited_for).max(1);
				if delivered.len() as u32 >= quorum {
					Self::close_round(job, federation);
					return;
				}
				for node in &stragglers {
					Self::replace_participant(job, *node, round, &stragglers);
				}
				// A round that drew nobody, or whose replacements all sit it out, is complete
				// without an update.
				if Self::round_complete(job, &federation) {
					Self::close_round(job, federation);
					return;
				}
				federation.deadline = now.saturating_add(T::RoundWindow::get());
				Self::schedule(job, federation.deadline);
				Self::deposit_event(Event::RoundExtended {
					job,
					round,
					updates: delivered.len() as u32,
					deadline: federation.deadline,
				});
				Federations::<T>::insert(job, federation);
			}
			Some(closed)
				if Self::last_turn_ends(closed) <= now
					&& !Aggregations::<T>::contains_key(job, round) =>
			{
				for node in &federation.aggregators {
					T::Reputation::report(*node, Outcome::JobFailed);
				}
				if federation.draws >= T::MaxAggregatorDraws::get() {
					log::info!(target: LOG_TARGET, "job {job}: nobody aggregated round {round}");
					Self::fail(job, info);
					return;
				}
				Self::draw_aggregators(job, &mut federation);
				Federations::<T>::insert(job, federation);
			}
			_ => {}
		}
	}

	/// Checks an aggregate against the round it is for, the noise it names included;
	/// returns the round's state.
	pub(crate) fn check_aggregation(
		aggregation: &Aggregation,
	) -> Result<FederationOf<T>, TransactionValidityError> {
		let (info, federation) = Self::check_aggregated_round(aggregation)?;
		Self::check_noise(aggregation, &info, &federation)
			.map_err(|_| InvalidTransaction::BadProof)?;
		Ok(federation)
	}

	/// Checks an aggregate against the round it is for, all but its noise; returns the job
	/// and the round's state.
	fn check_aggregated_round(
		aggregation: &Aggregation,
	) -> Result<(JobInfoOf<T>, FederationOf<T>), TransactionValidityError> {
		let job = aggregation.job;
		let info = Jobs::<T>::get(job).ok_or(InvalidTransaction::Stale)?;
		let federation = Federations::<T>::get(job).ok_or(InvalidTransaction::Stale)?;
		let training = matches!(info.state, JobState::Assigned | JobState::Running);
		if !training
			|| aggregation.round != federation.round
			|| Aggregations::<T>::contains_key(job, aggregation.round)
		{
			return Err(InvalidTransaction::Stale.into());
		}
		if federation.closed.is_none() {
			return Err(InvalidTransaction::Future.into());
		}
		let turn_starts = Self::turn_starts(&federation, aggregation.node)
			.ok_or(InvalidTransaction::BadSigner)?;
		if frame_system::Pallet::<T>::block_number() < turn_starts {
			return Err(InvalidTransaction::Future.into());
		}
		if aggregation.participants != federation.inputs.len() as u32
			|| aggregation.inputs_root != Self::round_inputs_root(job, &federation)
		{
			return Err(InvalidTransaction::BadProof.into());
		}
		Ok((info, federation))
	}

	/// An aggregate names exactly the noise its round adds: none for a job that declared no
	/// privacy, else the declared parameters with the round's noise seed
	/// ([`Federation::noise`]). What the aggregate really added only a re-execution can
	/// check, and it draws the noise named here.
	fn check_noise(
		aggregation: &Aggregation,
		info: &JobInfoOf<T>,
		federation: &FederationOf<T>,
	) -> Result<(), Error<T>> {
		ensure!(
			aggregation.noise == Self::expected_noise(info, federation),
			Error::<T>::WrongNoise
		);
		Ok(())
	}

	/// The noise the aggregate of `federation`'s round in progress must add and name.
	fn expected_noise(
		info: &JobInfoOf<T>,
		federation: &FederationOf<T>,
	) -> Option<tessera_primitives::trainer_api::AggregatePrivacy> {
		federation.noise(u32::from(info.redundancy), info.workload.samples_per_checkpoint())
	}

	/// The noise the aggregate of `round` of `job` adds: the noise its committed aggregate
	/// names, which a panel re-computing it draws; for the round in progress, before its
	/// aggregate, the noise the chain will check the aggregate names.
	pub fn round_noise(
		job: JobId,
		round: u32,
	) -> Option<tessera_primitives::trainer_api::AggregatePrivacy> {
		if let Some(aggregation) = Aggregations::<T>::get(job, round) {
			return aggregation.noise;
		}
		let (info, federation) = (Jobs::<T>::get(job)?, Federations::<T>::get(job)?);
		(federation.round == round).then(|| Self::expected_noise(&info, &federation)).flatten()
	}

	/// When `node`'s turn to aggregate the closed current round starts, if it has a seat.
	pub(crate) fn turn_starts(
		federation: &FederationOf<T>,
		node: NodeId,
	) -> Option<BlockNumberFor<T>> {
		let turn = federation.aggregators.iter().position(|seat| *seat == node)?;
		let grace = T::AggregatorGrace::get().saturating_mul((turn as u32).into());
		Some(federation.closed?.saturating_add(grace))
	}

	/// The Merkle root of the state CIDs of the current round's inputs.
	fn round_inputs_root(job: JobId, federation: &FederationOf<T>) -> H256 {
		let cids: Vec<Cid> = Self::round_inputs(job, federation.round)
			.into_iter()
			.map(|(_, payload)| payload.state_cid)
			.collect();
		inputs_root(cids.iter().map(|cid| cid.as_slice()))
	}

	/// The updates the aggregate of `round` averages, in input order: the current round's,
	/// or the round's before while its aggregate may be challenged.
	pub fn round_inputs(
		job: JobId,
		round: u32,
	) -> Vec<(NodeId, tessera_primitives::CommitmentPayload)> {
		let Some(federation) = Federations::<T>::get(job) else { return Vec::new() };
		federation
			.inputs_of(round)
			.iter()
			.filter_map(|node| {
				Reveals::<T>::get((job, *node, round)).map(|payload| (*node, payload))
			})
			.collect()
	}

	/// Disputes `node`'s update of `round` ([`Pallet::challenge_update`]): an update its
	/// round's aggregate averages, or will, while that aggregate is the latest, and no panel
	/// upheld it yet.
	pub(crate) fn do_challenge_update(
		challenger: T::AccountId,
		job: JobId,
		round: u32,
		node: NodeId,
	) -> DispatchResult {
		let info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
		let federation = Federations::<T>::get(job).ok_or(Error::<T>::NotFederated)?;
		ensure!(!Self::measured(&info), Error::<T>::UpdateNotReproducible);
		Self::ensure_open_to_challenge(&info, true)?;
		let averaged = federation.inputs_of(round).contains(&node)
			&& federation.seed_of(round).is_some()
			&& Reveals::<T>::contains_key((job, node, round));
		ensure!(averaged, Error::<T>::UnknownUpdate);
		// The rounds after the next aggregate were trained on top of it: only the latest
		// aggregate's updates are open to challenge, as only it is.
		let next = round.saturating_add(1);
		ensure!(!Aggregations::<T>::contains_key(job, next), Error::<T>::AggregateSuperseded);
		ensure!(!UpheldUpdates::<T>::contains_key(job, (round, node)), Error::<T>::UpdateSettled);
		let reason = DisputeReason::UpdateChallenged(node);
		Self::open_challenge(challenger, job, info, round, reason)
	}

	pub(crate) fn do_submit_aggregation(aggregation: Aggregation) -> DispatchResult {
		let (mut info, federation) = Self::check_aggregated_round(&aggregation)
			.map_err(|_| Error::<T>::NoSuchAggregation)?;
		Self::check_noise(&aggregation, &info, &federation)?;
		let (job, round, node) = (aggregation.job, aggregation.round, aggregation.node);
		let work = info.workload.work_of_checkpoint(round);
		for (participant, _) in Self::round_inputs(job, round) {
			Self::credit_work(job, participant, work);
		}
		// Whoever let their turn pass lost it to this one.
		for earlier in federation.aggregators.iter().take_while(|earlier| **earlier != node) {
			T::Reputation::report(*earlier, Outcome::JobFailed);
		}
		// The round before can no longer be challenged: only the latest aggregate can.
		if let Some(previous) = round.checked_sub(1) {
			Self::release_aggregate(job, &mut info, previous);
		}
		AggregatesAtStake::<T>::insert(node, job, round);
		Self::clear_aggregator_duties(job, &federation);
		Self::deposit_event(Event::RoundAggregated {
			job,
			round,
			node,
			weights_digest: aggregation.weights_digest,
			participants: aggregation.participants,
		});
		let (weights_digest, state_cid) =
			(aggregation.weights_digest, aggregation.state_cid.clone());
		Aggregations::<T>::insert(job, round, aggregation);
		Self::next_round(job, info, round, weights_digest, state_cid);
		Ok(())
	}

	/// Moves a federated job on from `round`'s aggregate: to the next round, or after the
	/// last one to acceptance with the aggregate as its result.
	fn next_round(
		job: JobId,
		mut info: JobInfoOf<T>,
		round: u32,
		weights_digest: H256,
		state_cid: Cid,
	) {
		let agreed = TrainedWeights { weights: state_cid.clone(), digest: weights_digest };
		Self::set_last_agreed(job, Some((round, agreed)));
		if round.saturating_add(1) >= info.checkpoints {
			Self::accept(job, &mut info, weights_digest, state_cid);
			Jobs::<T>::insert(job, info);
			return;
		}
		info.state = JobState::Running;
		Jobs::<T>::insert(job, info);
		Self::open_round(job, round.saturating_add(1), frame_system::Pallet::<T>::block_number());
	}

	/// `round`'s aggregate can no longer be challenged: if its author still answers for it,
	/// the author is paid the aggregation fee for its updates from the job's budget and is
	/// free to leave.
	pub(crate) fn release_aggregate(job: JobId, info: &mut JobInfoOf<T>, round: u32) {
		let Some(aggregation) = Aggregations::<T>::get(job, round) else { return };
		let node = aggregation.node;
		if AggregatesAtStake::<T>::get(node, job) != Some(round) {
			return;
		}
		AggregatesAtStake::<T>::remove(node, job);
		let fee = T::AggregatorFee::get();
		let participants = aggregation.participants.min(FEE_PARTICIPANTS);
		let growth = Perbill::from_rational(participants, FEE_PARTICIPANTS);
		let amount = fee.saturating_add(growth.mul_floor(fee));
		let paid = Self::pay_from_budget(info, node, amount);
		T::Reputation::report(node, Outcome::ProofPassed);
		Self::deposit_event(Event::AggregatorPaid { job, node, amount: paid });
	}

	/// The job ends: its latest aggregate can no longer be challenged.
	pub(crate) fn release_last_aggregate(job: JobId, info: &mut JobInfoOf<T>) {
		let Some(federation) = Federations::<T>::get(job) else { return };
		// The current round's aggregate if it has one, else the round's before.
		Self::release_aggregate(job, info, federation.round);
		if let Some(previous) = federation.round.checked_sub(1) {
			Self::release_aggregate(job, info, previous);
		}
	}

	/// A panel proved `round`'s aggregate wrong: its author answers for it with its stake
	/// and is never paid for it.
	pub(crate) fn forfeit_aggregate(job: JobId, round: u32) {
		if let Some(aggregation) = Aggregations::<T>::get(job, round) {
			if AggregatesAtStake::<T>::get(aggregation.node, job) == Some(round) {
				AggregatesAtStake::<T>::remove(aggregation.node, job);
			}
		}
	}

	/// The state `round` of `job` trains from: the previous round's aggregate; `None` for
	/// the job's own start.
	pub(crate) fn start_of_round(job: JobId, round: u32) -> Option<TrainedWeights> {
		let (_, digest, weights) = Self::aggregate_of(job, round.checked_sub(1)?)?;
		Some(TrainedWeights { weights, digest })
	}

	/// The aggregator of `round` of `job` and what it committed, if it is a federated job.
	pub(crate) fn aggregate_of(job: JobId, round: u32) -> Option<(NodeId, H256, Cid)> {
		Aggregations::<T>::get(job, round).map(|aggregation| {
			(aggregation.node, aggregation.weights_digest, aggregation.state_cid)
		})
	}

	/// A panel proved `round`'s aggregate wrong and its own, `weights_digest` and
	/// `state_cid`, replaced it: the rounds trained from the wrong one are undone, and the
	/// job trains on from the round after it.
	pub(crate) fn rewind(job: JobId, round: u32, weights_digest: H256, state_cid: Cid) {
		let (Some(info), Some(federation)) = (Jobs::<T>::get(job), Federations::<T>::get(job))
		else {
			return;
		};
		Self::undo_rounds(job, round.saturating_add(1), &federation);
		Self::deposit_event(Event::RoundsRewound { job, round, weights_digest });
		Self::next_round(job, info, round, weights_digest, state_cid);
	}

	/// Clears up to `limit` of `job`'s aggregates and upheld updates. Whether none is left.
	pub(crate) fn clear_rounds(job: JobId, limit: u32) -> bool {
		[
			Aggregations::<T>::clear_prefix(job, limit, None).maybe_cursor,
			UpheldUpdates::<T>::clear_prefix(job, limit, None).maybe_cursor,
		]
		.iter()
		.all(Option::is_none)
	}

	/// Removes `job`'s federation, once its rounds are cleared.
	pub(crate) fn remove_federation(job: JobId) {
		Federations::<T>::remove(job);
	}

	/// Undoes rounds `from` to the one in progress: their aggregates, which earn their
	/// authors nothing, and every participant's commits and reveals, and what panels upheld
	/// of them (the round's updates will be new); each participant's next update is
	/// `from`'s.
	fn undo_rounds(job: JobId, from: u32, federation: &FederationOf<T>) {
		let participants = Assignments::<T>::get(job).unwrap_or_default();
		for later in from..=federation.round {
			Self::forfeit_aggregate(job, later);
			Aggregations::<T>::remove(job, later);
			Self::forget_checkpoint(job, later, &participants);
			for node in &participants {
				UpheldUpdates::<T>::remove(job, (later, *node));
			}
		}
		for node in &participants {
			Self::commit_next(job, *node, from);
		}
	}

	/// A panel proved `node`'s update of `round` wrong. The round's aggregate, if there is
	/// one, averaged what it was given: its author is paid for it. `node` forfeits what it
	/// earned of the job and its seat, and the round opens again from its start without it
	/// (and so does the next one, if it had opened).
	///
	/// The round keeps its randomness, so its shards and the participants it drew stay as
	/// they were: the others' updates are still right, and their workers commit them again
	/// without training anything, while the replacement trains the seat's shard. (Fresh
	/// shards would also need every worker and trainer to tell a round's runs apart by
	/// shard, not only by start.)
	pub(crate) fn retrain_round(job: JobId, mut info: JobInfoOf<T>, round: u32, node: NodeId) {
		let Some(mut federation) = Federations::<T>::get(job) else { return };
		let seed = federation.seed_of(round);
		if Aggregations::<T>::contains_key(job, round) {
			// The aggregate of the round before was superseded, and its author paid, when this
			// round's was committed: it stays final.
			federation.settled = federation.settled.max(round.checked_sub(1));
			Federations::<T>::insert(job, &federation);
			// The round's updates are credited when its aggregate is committed again.
			let work = info.workload.work_of_checkpoint(round);
			for (participant, _) in Self::round_inputs(job, round) {
				Self::debit_work(job, participant, work);
			}
		}
		Self::release_aggregate(job, &mut info, round);
		Self::undo_rounds(job, round, &federation);
		Self::forfeit_work(job, node);
		let by = Self::hand_over(job, node, round, &[node]);
		Self::deposit_event(Event::ParticipantReplaced { job, node, by });
		Self::set_last_agreed(job, round.checked_sub(1).zip(Self::start_of_round(job, round)));
		// An accepted result built on the update is no result.
		info.state = JobState::Running;
		info.result = None;
		Jobs::<T>::insert(job, info);
		Self::deposit_event(Event::RoundRetrained { job, round });
		let now = frame_system::Pallet::<T>::block_number();
		match seed {
			Some(seed) => Self::open_round_with(job, round, seed, now),
			None => Self::open_round(job, round, now),
		}
	}

	/// A challenge of an aggregate was rejected: the job goes on where it was, its round's
	/// clock started again, since it stood still during the dispute.
	pub(crate) fn resume_rounds(job: JobId, mut info: JobInfoOf<T>) {
		let now = frame_system::Pallet::<T>::block_number();
		let Some(mut federation) = Federations::<T>::get(job) else { return };
		if Aggregations::<T>::contains_key(job, info.checkpoints.saturating_sub(1)) {
			Self::pay_and_deliver(job, info, &[], JobState::Resolved);
			return;
		}
		if info.deadline <= now {
			Self::fail(job, info);
			return;
		}
		info.state = JobState::Running;
		Jobs::<T>::insert(job, info);
		match federation.closed {
			None => {
				federation.deadline = now.saturating_add(T::RoundWindow::get());
				Self::schedule(job, federation.deadline);
			}
			Some(_) => {
				federation.closed = Some(now);
				Self::schedule(job, Self::last_turn_ends(now));
			}
		}
		Federations::<T>::insert(job, federation);
	}

	/// Pays each participant of a federated job for the work of its rounds that went into
	/// aggregates, as replicas are paid for theirs; returns what is left.
	pub(crate) fn pay_participants(
		job: JobId,
		info: &JobInfoOf<T>,
		convicted: &[NodeId],
		remaining: crate::BalanceOf<T>,
		payouts: &mut crate::Payout<T>,
	) -> crate::BalanceOf<T> {
		for node in Assignments::<T>::get(job).unwrap_or_default() {
			Self::unbind(node, job);
		}
		let earners: Vec<(NodeId, u64)> =
			Self::take_work(job).filter(|(node, _)| !convicted.contains(node)).collect();
		if let Some(federation) = Federations::<T>::get(job) {
			Self::clear_aggregator_duties(job, &federation);
		}
		Self::pay_for_work(job, info, &earners, remaining, payouts)
	}

	/// Invariants of federated jobs: aggregates exist only for rounds that were open,
	/// aggregator duties are exactly the seats of rounds of open jobs awaiting an aggregate,
	/// and only the author of an open job's latest aggregate that no panel settled answers
	/// for it.
	#[cfg(any(feature = "try-runtime", feature = "invariants", test))]
	pub(crate) fn federation_invariants() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		for (job, federation) in Federations::<T>::iter() {
			let info = Jobs::<T>::get(job).ok_or("a federation without its job")?;
			for (round, _) in Aggregations::<T>::iter_prefix(job) {
				ensure!(
					round <= federation.round && round < info.checkpoints,
					"an aggregate of a round never opened"
				);
			}
			let latest = Aggregations::<T>::iter_prefix(job).map(|(round, _)| round).max();
			if let Some(round) =
				latest.filter(|round| info.ended.is_none() && federation.settled != Some(*round))
			{
				let author = Aggregations::<T>::get(job, round).map(|aggregation| aggregation.node);
				ensure!(
					author.and_then(|node| AggregatesAtStake::<T>::get(node, job)) == Some(round),
					"a latest aggregate whose author does not answer for it"
				);
			}
			// Assigned too: a round that drew none of its participants closes before anyone
			// committed.
			let awaited =
				matches!(info.state, JobState::Assigned | JobState::Running | JobState::Disputed)
					&& !Aggregations::<T>::contains_key(job, federation.round);
			for node in &federation.aggregators {
				ensure!(
					AggregatorDuties::<T>::contains_key(node, job) == awaited,
					"an aggregator seat without its duty, or a duty nothing awaits"
				);
			}
			ensure!(
				federation
					.inputs
					.iter()
					.all(|node| { Reveals::<T>::contains_key((job, *node, federation.round)) }),
				"an input without its update"
			);
		}
		for (job, (round, node), ()) in UpheldUpdates::<T>::iter() {
			let open = Jobs::<T>::get(job).is_some_and(|info| info.ended.is_none());
			ensure!(
				!open || Reveals::<T>::contains_key((job, node, round)),
				"an update upheld that its participant no longer reveals"
			);
		}
		for (node, job, ()) in AggregatorDuties::<T>::iter() {
			let seated = Federations::<T>::get(job)
				.is_some_and(|federation| federation.aggregators.contains(&node));
			ensure!(seated, "an aggregator duty without a seat");
		}
		for (node, job, round) in AggregatesAtStake::<T>::iter() {
			let open = Jobs::<T>::get(job).is_some_and(|info| info.ended.is_none());
			let authored = Aggregations::<T>::get(job, round)
				.is_some_and(|aggregation| aggregation.node == node);
			let latest = !Aggregations::<T>::contains_key(job, round.saturating_add(1));
			let settled = Federations::<T>::get(job).and_then(|federation| federation.settled);
			ensure!(
				open && authored && latest && settled != Some(round),
				"an aggregate at stake that can no longer be challenged, or not its author's"
			);
		}
		Ok(())
	}
}

mod disputes;
#[cfg(test)]
pub(crate) mod tests;
