//! The logic behind the calls, consent checks, and the reads of the runtime API.

use crate::{
	pallet::*, types, AuthKey, BalanceOf, CidOf, DidAction, DidActionOf, DidDocument,
	DidDocumentOf, DidOperationOf, DidSignature, EncryptionKey, Grant, WeightInfo,
};
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::{
		ensure,
		pallet_prelude::*,
		storage::{with_transaction, TransactionOutcome},
		traits::{
			fungible::MutateHold,
			tokens::{Fortitude, Precision, Restriction},
		},
	},
	frame_system::{self, pallet_prelude::*},
	sp_runtime::{
		traits::{Saturating, Zero},
		DispatchError,
	},
};
use tessera_primitives::{ConsentInspect, DidControl, DidId, JobId};

impl<T: Config> Pallet<T> {
	pub(crate) fn do_create(
		creator: T::AccountId,
		auth_key: AuthKey,
		key_proof: DidSignature,
		encryption_key: Option<EncryptionKey>,
		metadata: Option<CidOf<T>>,
	) -> DispatchResult {
		let did = auth_key.did();
		ensure!(!Documents::<T>::contains_key(did), Error::<T>::DidExists);
		ensure!(
			auth_key.verify(&types::creation_message(&creator), &key_proof),
			Error::<T>::BadKeyProof
		);
		let deposit = T::Deposit::get();
		T::Currency::hold(&HoldReason::DidDeposit.into(), &creator, deposit)?;
		let now = frame_system::Pallet::<T>::block_number();
		let controllers = BoundedVec::try_from(alloc::vec![creator.clone()])
			.map_err(|_| Error::<T>::TooManyControllers)?;
		Documents::<T>::insert(
			did,
			DidDocument {
				controllers,
				auth_key,
				encryption_key,
				metadata,
				depositor: creator.clone(),
				deposit,
				nonce: 0,
				created: now,
				updated: now,
				revoked: None,
			},
		);
		Self::deposit_event(Event::DidCreated { did, creator });
		Ok(())
	}

	/// Applies `action` for `did` after checking that the signer of `origin` controls it.
	pub(crate) fn act_as_controller(
		origin: OriginFor<T>,
		did: DidId,
		action: DidActionOf<T>,
	) -> DispatchResult {
		let who = ensure_signed(origin)?;
		let document = Self::live_document(&did)?;
		ensure!(document.controllers.contains(&who), Error::<T>::NotController);
		Self::do_act(did, document, action)
	}

	pub(crate) fn do_submit_operation(operation: DidOperationOf<T>) -> DispatchResult {
		let crate::DidOperation { did, nonce, action } = operation;
		let document = Self::live_document(&did)?;
		ensure!(document.nonce == nonce, Error::<T>::BadNonce);
		// The action runs in its own storage layer: when it fails, its writes are undone,
		// but the nonce below is still used up.
		let result = with_transaction(|| {
			let result = Self::do_act(did, document, action);
			if result.is_ok() {
				TransactionOutcome::Commit(Ok(result))
			} else {
				TransactionOutcome::Rollback(Ok(result))
			}
		})
		.unwrap_or_else(|error: DispatchError| Err(error));
		if result.is_err() {
			Documents::<T>::mutate(did, |document| {
				if let Some(document) = document {
					document.nonce = document.nonce.saturating_add(1);
					let fee = Self::charge_failure(document);
					Self::deposit_event(Event::FailedOperationCharged { did, fee });
				}
			});
		}
		let live = Documents::<T>::get(did).is_some_and(|document| document.revoked.is_none());
		if live {
			OperatedAt::<T>::insert(did, frame_system::Pallet::<T>::block_number());
		} else {
			OperatedAt::<T>::remove(did);
		}
		Self::deposit_event(Event::OperationApplied { did, nonce, result });
		Ok(())
	}

	/// Takes [`Config::FailedOperationFee`] (at most what is left) from `document`'s
	/// deposit for the fee beneficiary; what was taken.
	fn charge_failure(document: &mut DidDocumentOf<T>) -> BalanceOf<T> {
		let fee = T::FailedOperationFee::get().min(document.deposit);
		let taken = T::Currency::transfer_on_hold(
			&HoldReason::DidDeposit.into(),
			&document.depositor,
			&T::FeeBeneficiary::get(),
			fee,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Force,
		)
		.unwrap_or_else(|_| Zero::zero());
		document.deposit = document.deposit.saturating_sub(taken);
		taken
	}

	/// The document of `did`, if it exists and was not revoked.
	fn live_document(did: &DidId) -> Result<DidDocumentOf<T>, DispatchError> {
		let document = Documents::<T>::get(did).ok_or(Error::<T>::UnknownDid)?;
		ensure!(document.revoked.is_none(), Error::<T>::DidRevoked);
		Ok(document)
	}

	/// Applies `action` for the live DID `did`, whose document is `document`, and uses up
	/// its nonce.
	fn do_act(
		did: DidId,
		mut document: DidDocumentOf<T>,
		action: DidActionOf<T>,
	) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		match action {
			DidAction::RotateKeys { auth_key, key_proof, encryption_key } => {
				let message = types::rotation_message(&did, document.nonce);
				ensure!(auth_key.verify(&message, &key_proof), Error::<T>::BadKeyProof);
				document.auth_key = auth_key;
				if encryption_key.is_some() {
					document.encryption_key = encryption_key;
				}
				document.updated = now;
				Self::deposit_event(Event::KeysRotated { did, auth_key });
			}
			DidAction::SetMetadata { metadata } => {
				document.metadata = metadata.clone();
				document.updated = now;
				Self::deposit_event(Event::MetadataSet { did, metadata });
			}
			DidAction::AddController { account } => {
				ensure!(!document.controllers.contains(&account), Error::<T>::AlreadyController);
				document
					.controllers
					.try_push(account.clone())
					.map_err(|_| Error::<T>::TooManyControllers)?;
				document.updated = now;
				Self::deposit_event(Event::ControllerAdded { did, account });
			}
			DidAction::RemoveController { account } => {
				let position = document
					.controllers
					.iter()
					.position(|controller| *controller == account)
					.ok_or(Error::<T>::NotController)?;
				document.controllers.remove(position);
				document.updated = now;
				Self::deposit_event(Event::ControllerRemoved { did, account });
			}
			DidAction::Revoke => {
				if GrantCount::<T>::get(did) == 0 {
					T::Currency::release(
						&HoldReason::DidDeposit.into(),
						&document.depositor,
						document.deposit,
						Precision::BestEffort,
					)?;
					document.deposit = Zero::zero();
				} else {
					// The deposit pays for the grants until `on_idle` has removed them.
					RevokedWithGrants::<T>::insert(did, ());
				}
				document.revoked = Some(now);
				document.updated = now;
				// A revoked DID operates no more: its block of last operation would be kept
				// for nothing.
				OperatedAt::<T>::remove(did);
				Self::deposit_event(Event::DidRevoked { did });
			}
			DidAction::GrantAccess { dataset, grantee, expires_at, encrypted_key } => {
				Self::do_grant(did, dataset, grantee, expires_at, encrypted_key)?
			}
			DidAction::RevokeAccess { dataset, grantee } => {
				Grants::<T>::take((&dataset, did, grantee)).ok_or(Error::<T>::NoSuchGrant)?;
				GrantsOf::<T>::remove(did, (&dataset, grantee));
				GrantCount::<T>::mutate_exists(did, |count| {
					*count =
						count.and_then(|count| count.checked_sub(1)).filter(|count| *count > 0);
				});
				Self::deposit_event(Event::AccessRevoked { dataset, grantor: did, grantee });
			}
			DidAction::SetPrivacyBudget { dataset, grantee, budget } => {
				Grants::<T>::try_mutate((&dataset, did, grantee), |grant| {
					let grant = grant.as_mut().ok_or(Error::<T>::NoSuchGrant)?;
					grant.budget = budget;
					Ok::<_, DispatchError>(())
				})?;
				Self::deposit_event(Event::PrivacyBudgetSet {
					dataset,
					grantor: did,
					grantee,
					budget,
				});
			}
			DidAction::RecordAccess { dataset, grantor } => {
				Self::do_record_access(did, dataset, grantor)?
			}
		}
		document.nonce = document.nonce.saturating_add(1);
		Documents::<T>::insert(did, document);
		Ok(())
	}

	/// [`Self::do_act`] for the benchmarks' setup.
	#[cfg(feature = "runtime-benchmarks")]
	pub(crate) fn do_act_for_benchmarks(
		did: DidId,
		document: DidDocumentOf<T>,
		action: DidActionOf<T>,
	) -> DispatchResult {
		Self::do_act(did, document, action)
	}

	fn do_grant(
		grantor: DidId,
		dataset: CidOf<T>,
		grantee: DidId,
		expires_at: BlockNumberFor<T>,
		encrypted_key: CidOf<T>,
	) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(expires_at > now, Error::<T>::ExpiryInPast);
		ensure!(
			Documents::<T>::get(grantee).is_some_and(|document| document.revoked.is_none()),
			Error::<T>::UnknownGrantee
		);
		let key = (&dataset, grantor, grantee);
		if !Grants::<T>::contains_key(key) {
			let count = GrantCount::<T>::get(grantor);
			ensure!(count < T::MaxGrantsPerDid::get(), Error::<T>::TooManyGrants);
			GrantCount::<T>::insert(grantor, count.saturating_add(1));
			GrantsOf::<T>::insert(grantor, (&dataset, grantee), ());
		}
		// A renewed grant keeps its budget and what was spent of it.
		let (budget, spent_epsilon_milli) = Grants::<T>::get(key)
			.map_or((None, 0), |grant| (grant.budget, grant.spent_epsilon_milli));
		Grants::<T>::insert(
			key,
			Grant {
				granted_at: now,
				expires_at,
				encrypted_key,
				accesses: 0,
				budget,
				spent_epsilon_milli,
			},
		);
		Self::deposit_event(Event::AccessGranted { dataset, grantor, grantee, expires_at });
		Ok(())
	}

	fn do_record_access(grantee: DidId, dataset: CidOf<T>, grantor: DidId) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let key = (&dataset, grantor, grantee);
		let mut grant = Grants::<T>::get(key).ok_or(Error::<T>::NoSuchGrant)?;
		ensure!(now < grant.expires_at, Error::<T>::GrantExpired);
		ensure!(
			Documents::<T>::get(grantor).is_some_and(|document| document.revoked.is_none()),
			Error::<T>::GrantorRevoked
		);
		grant.accesses = grant.accesses.saturating_add(1);
		let accesses = grant.accesses;
		Grants::<T>::insert(key, grant);
		Self::deposit_event(Event::AccessRecorded { dataset, grantor, grantee, accesses });
		Ok(())
	}

	/// Removes revoked DIDs' grants, a step of at most [`crate::GRANT_REMOVAL_BATCH`] at a
	/// time, for as long as `remaining` pays for a whole step.
	pub(crate) fn remove_revoked_grants(remaining: Weight) -> Weight {
		let step = Self::grant_removal_step();
		let mut used = Weight::zero();
		while used.saturating_add(step).all_lte(remaining) {
			let Some(did) = RevokedWithGrants::<T>::iter_keys().next() else { break };
			used.saturating_accrue(step);
			Self::remove_grants_step(did);
		}
		used
	}

	/// The most one removal step costs: removing a grant costs at most what withdrawing it
	/// does, and releasing the deposit at most what revoking a DID does.
	pub(crate) fn grant_removal_step() -> Weight {
		T::WeightInfo::revoke_access()
			.saturating_mul(crate::GRANT_REMOVAL_BATCH.into())
			.saturating_add(T::WeightInfo::revoke())
			.saturating_add(T::DbWeight::get().reads(1))
	}

	/// Removes up to [`crate::GRANT_REMOVAL_BATCH`] grants of the revoked DID `did`; once
	/// none is left, releases its deposit.
	fn remove_grants_step(did: DidId) {
		let keys: Vec<(CidOf<T>, DidId)> =
			GrantsOf::<T>::iter_key_prefix(did).take(crate::GRANT_REMOVAL_BATCH as usize).collect();
		for (dataset, grantee) in &keys {
			GrantsOf::<T>::remove(did, (dataset, grantee));
			Grants::<T>::remove((dataset, did, grantee));
		}
		let removed = keys.len() as u32;
		let left = GrantCount::<T>::mutate_exists(did, |count| {
			let left = count.unwrap_or_default().saturating_sub(removed);
			*count = (left > 0).then_some(left);
			left
		});
		Self::deposit_event(Event::RevokedGrantsRemoved { did, removed, left });
		if left > 0 && removed > 0 {
			return;
		}
		RevokedWithGrants::<T>::remove(did);
		Documents::<T>::mutate(did, |document| {
			let Some(document) = document else { return };
			let deposit = T::Currency::release(
				&HoldReason::DidDeposit.into(),
				&document.depositor,
				document.deposit,
				Precision::BestEffort,
			)
			.unwrap_or_else(|_| Zero::zero());
			document.deposit = document.deposit.saturating_sub(deposit);
			let depositor = document.depositor.clone();
			Self::deposit_event(Event::DepositReleased { did, depositor, deposit });
		});
	}

	/// The weight of `action` as its own call, which a DID-signed operation adds to its
	/// overhead.
	pub fn action_weight(action: &DidActionOf<T>) -> Weight {
		match action {
			DidAction::RotateKeys { .. } => T::WeightInfo::rotate_keys(),
			DidAction::SetMetadata { .. } => T::WeightInfo::set_metadata(),
			DidAction::AddController { .. } => T::WeightInfo::add_controller(),
			DidAction::RemoveController { .. } => T::WeightInfo::remove_controller(),
			DidAction::Revoke => T::WeightInfo::revoke(),
			DidAction::GrantAccess { .. } => T::WeightInfo::grant_access(),
			DidAction::RevokeAccess { .. } => T::WeightInfo::revoke_access(),
			DidAction::RecordAccess { .. } => T::WeightInfo::record_access(),
			DidAction::SetPrivacyBudget { .. } => T::WeightInfo::set_privacy_budget(),
		}
	}

	/// The document of `did` with plain vectors, for the runtime API.
	pub fn resolve(
		did: DidId,
	) -> Option<
		DidDocument<T::AccountId, BalanceOf<T>, BlockNumberFor<T>, Vec<T::AccountId>, Vec<u8>>,
	> {
		Documents::<T>::get(did).map(|document| DidDocument {
			controllers: document.controllers.into_inner(),
			auth_key: document.auth_key,
			encryption_key: document.encryption_key,
			metadata: document.metadata.map(BoundedVec::into_inner),
			depositor: document.depositor,
			deposit: document.deposit,
			nonce: document.nonce,
			created: document.created,
			updated: document.updated,
			revoked: document.revoked,
		})
	}

	/// Every grant on `dataset`, for the runtime API.
	pub fn grants_for_dataset(
		dataset: Vec<u8>,
	) -> Vec<crate::runtime_api::GrantRecord<BlockNumberFor<T>>> {
		let Ok(dataset) = CidOf::<T>::try_from(dataset) else { return Vec::new() };
		Grants::<T>::iter_prefix((&dataset,))
			.map(|((grantor, grantee), grant)| {
				Self::grant_record(&dataset, grantor, grantee, grant)
			})
			.collect()
	}

	/// Every grant to `grantee`, for the runtime API. Walks all grants: meant for clients,
	/// never called by the runtime itself.
	pub fn grants_to(grantee: DidId) -> Vec<crate::runtime_api::GrantRecord<BlockNumberFor<T>>> {
		Grants::<T>::iter()
			.filter(|((_, _, to), _)| *to == grantee)
			.map(|((dataset, grantor, grantee), grant)| {
				Self::grant_record(&dataset, grantor, grantee, grant)
			})
			.collect()
	}

	fn grant_record(
		dataset: &CidOf<T>,
		grantor: DidId,
		grantee: DidId,
		grant: crate::GrantOf<T>,
	) -> crate::runtime_api::GrantRecord<BlockNumberFor<T>> {
		crate::runtime_api::GrantRecord {
			dataset: dataset.to_vec(),
			grantor,
			grantee,
			grant: Grant {
				granted_at: grant.granted_at,
				expires_at: grant.expires_at,
				encrypted_key: grant.encrypted_key.into_inner(),
				accesses: grant.accesses,
				budget: grant.budget,
				spent_epsilon_milli: grant.spent_epsilon_milli,
			},
		}
	}

	/// Checks the pallet's storage.
	///
	/// # Invariants
	///
	/// - A DID's deposit is held from its depositor: the held total of each account equals
	///   the deposits of the DIDs it created. A revoked DID holds one only while its grants
	///   wait in [`RevokedWithGrants`] to be removed, and only revoked DIDs with grants wait
	///   there.
	/// - [`GrantsOf`] indexes exactly the [`Grants`].
	/// - Controllers of a DID are distinct.
	/// - Each DID's grant count equals the grants it gave, and is within the bound.
	/// - Every grant's grantor and grantee are DIDs, and no grant outlives its expiry by
	///   being created after it.
	#[cfg(any(test, feature = "try-runtime", feature = "invariants"))]
	pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use polkadot_sdk::{frame_support::traits::fungible::InspectHold, sp_runtime::Saturating};

		let mut held: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (did, document) in Documents::<T>::iter() {
			let mut controllers = document.controllers.to_vec();
			controllers.sort();
			controllers.dedup();
			ensure!(controllers.len() == document.controllers.len(), "duplicate controllers");
			if document.revoked.is_some() && !document.deposit.is_zero() {
				ensure!(
					RevokedWithGrants::<T>::contains_key(did),
					"a revoked DID holds a deposit for no grants"
				);
			}
			held.entry(document.depositor).or_default().saturating_accrue(document.deposit);
		}
		for (account, total) in held {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::DidDeposit.into(), &account) == total,
				"held deposits differ from the recorded deposits"
			);
		}
		for did in OperatedAt::<T>::iter_keys() {
			ensure!(
				Documents::<T>::get(did).is_some_and(|document| document.revoked.is_none()),
				"an operation block kept for a DID that is not live"
			);
		}
		let mut counts: BTreeMap<DidId, u32> = BTreeMap::new();
		for ((dataset, grantor, grantee), grant) in Grants::<T>::iter() {
			ensure!(Documents::<T>::contains_key(grantor), "a grant by an unknown DID");
			ensure!(Documents::<T>::contains_key(grantee), "a grant to an unknown DID");
			ensure!(grant.granted_at < grant.expires_at, "a grant given after its expiry");
			*counts.entry(grantor).or_default() += 1;
			ensure!(
				GrantsOf::<T>::contains_key(grantor, (&dataset, grantee)),
				"a grant its grantor's index misses"
			);
		}
		ensure!(
			GrantsOf::<T>::iter_keys().count() == Grants::<T>::iter_keys().count(),
			"the grant index lists grants that are gone"
		);
		for did in RevokedWithGrants::<T>::iter_keys() {
			ensure!(
				Documents::<T>::get(did).is_some_and(|document| document.revoked.is_some())
					&& GrantCount::<T>::get(did) > 0,
				"a DID waits for its grants' removal that is live or has none"
			);
		}
		for (did, count) in GrantCount::<T>::iter() {
			ensure!(counts.remove(&did) == Some(count), "grant count differs from the grants");
			ensure!(count <= T::MaxGrantsPerDid::get(), "more grants than the bound");
		}
		ensure!(counts.is_empty(), "grants without a count");
		Ok(())
	}
}

impl<T: Config> ConsentInspect for Pallet<T> {
	fn is_allowed(dataset: &[u8], grantor: &DidId, grantee: &DidId) -> bool {
		let Ok(dataset) = CidOf::<T>::try_from(dataset.to_vec()) else { return false };
		let now = frame_system::Pallet::<T>::block_number();
		Grants::<T>::get((&dataset, grantor, grantee)).is_some_and(|grant| now < grant.expires_at)
			&& Self::is_live(grantor)
			&& Self::is_live(grantee)
	}

	fn is_live(did: &DidId) -> bool {
		Documents::<T>::get(did).is_some_and(|document| document.revoked.is_none())
	}

	fn within_budget(
		dataset: &[u8],
		grantor: &DidId,
		grantee: &DidId,
		spend: Option<(u32, polkadot_sdk::sp_runtime::Perbill)>,
	) -> bool {
		let Ok(dataset) = CidOf::<T>::try_from(dataset.to_vec()) else { return false };
		Grants::<T>::get((&dataset, grantor, grantee)).is_some_and(|grant| grant.covers(spend))
	}

	fn some_grant_allows(
		dataset: &[u8],
		grantor: &DidId,
		spend: Option<(u32, polkadot_sdk::sp_runtime::Perbill)>,
	) -> bool {
		let Ok(dataset) = CidOf::<T>::try_from(dataset.to_vec()) else { return false };
		let now = frame_system::Pallet::<T>::block_number();
		Self::is_live(grantor)
			&& Grants::<T>::iter_prefix((&dataset, grantor)).any(|(grantee, grant)| {
				now < grant.expires_at && grant.covers(spend) && Self::is_live(&grantee)
			})
	}

	fn some_grant_allows_weight() -> Weight {
		T::WeightInfo::some_grant_allows()
	}

	fn record_use(
		job: JobId,
		dataset: &[u8],
		grantor: &DidId,
		grantee: &DidId,
		epsilon_milli: Option<u32>,
	) {
		let Ok(dataset) = CidOf::<T>::try_from(dataset.to_vec()) else { return };
		// A grant that lapsed since it was checked records nothing; the use was allowed.
		if Self::do_record_access(*grantee, dataset.clone(), *grantor).is_err() {
			return;
		}
		let Some(epsilon_milli) = epsilon_milli else { return };
		Grants::<T>::mutate((&dataset, grantor, grantee), |grant| {
			if let Some(grant) = grant {
				grant.spent_epsilon_milli = grant.spent_epsilon_milli.saturating_add(epsilon_milli);
				Self::deposit_event(Event::PrivacySpent {
					job,
					dataset: dataset.clone(),
					grantor: *grantor,
					grantee: *grantee,
					epsilon_milli,
					spent_epsilon_milli: grant.spent_epsilon_milli,
				});
			}
		});
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn grant_for_benchmarks(dataset: &[u8], grantor: &DidId, grantee: &DidId) {
		crate::benchmarking::grant_between::<T>(dataset, grantor, grantee);
	}
}

impl<T: Config> DidControl<T::AccountId> for Pallet<T> {
	fn is_controller(did: &DidId, account: &T::AccountId) -> bool {
		Documents::<T>::get(did).is_some_and(|document| {
			document.revoked.is_none() && document.controllers.contains(account)
		})
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn controlled_by(account: &T::AccountId) -> DidId {
		crate::benchmarking::create_for::<T>(account, None).0
	}
}
