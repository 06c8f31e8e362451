//! Behaviour of the DID pallet: documents, keys, controllers, revocation, DID-signed
//! operations and consent.

use crate::{
	mock::*, types, DidAction, Documents, EncryptionKey, Error, Event, GrantCount, Grants,
	HoldReason, RevokedWithGrants,
};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		pallet_prelude::{Authorize, InvalidTransaction, TransactionSource},
		traits::fungible::InspectHold,
	},
	frame_system::RawOrigin,
	sp_runtime::{transaction_validity::TransactionValidityError, DispatchError},
};
use tessera_primitives::{ConsentInspect, DidId};

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::DidDeposit.into(), &who)
}

/// Runs the authorize check of `submit_operation` as the pool would.
fn authorize(
	operation: crate::DidOperationOf<Test>,
	signature: crate::DidSignature,
) -> Result<(), InvalidTransaction> {
	let call = RuntimeCall::Did(crate::Call::submit_operation { operation, signature });
	match call.authorize(TransactionSource::External).expect("the call has authorize logic") {
		Ok(_) => Ok(()),
		Err(TransactionValidityError::Invalid(error)) => Err(error),
		Err(other) => panic!("unexpected validity error {other:?}"),
	}
}

/// Submits `action` as an operation signed by `signer`, checking it passes authorization.
/// Sends a DID-signed operation, and moves to the next block: a DID gets one a block.
fn operate(did: DidId, signer: &Signer, action: crate::DidActionOf<Test>) {
	let (operation, signature) = signed_operation(did, signer, action);
	assert_ok!(authorize(operation.clone(), signature.clone()));
	assert_ok!(Did::submit_operation(RawOrigin::Authorized.into(), operation, signature));
	System::set_block_number(System::block_number() + 1);
}

fn grant(grantor: DidId, dataset: &str, grantee: DidId, expires_at: u64) {
	assert_ok!(Did::grant_access(
		RuntimeOrigin::signed(ALICE),
		grantor,
		cid(dataset),
		grantee,
		expires_at,
		cid("key-cid")
	));
}

#[test]
fn create_holds_the_deposit_and_records_the_document() {
	test(|| {
		let key = Signer::sr25519("alice-did");
		let did = create_did(ALICE, &key);
		assert_eq!(did, DidId::from_initial_key(key.public().as_bytes()));

		let document = Documents::<Test>::get(did).expect("created");
		assert_eq!(document.controllers.to_vec(), vec![ALICE]);
		assert_eq!(document.auth_key, key.public());
		assert_eq!((document.depositor, document.deposit), (ALICE, DEPOSIT));
		assert_eq!((document.created, document.updated, document.revoked), (1, 1, None));
		assert_eq!(document.nonce, 0);
		assert_eq!(held(ALICE), DEPOSIT);
		System::assert_last_event(Event::DidCreated { did, creator: ALICE }.into());
	});
}

#[test]
fn an_ed25519_key_makes_a_did_too() {
	test(|| {
		let key = Signer::ed25519("ed-did");
		let did = create_did(BOB, &key);
		operate(did, &key, DidAction::SetMetadata { metadata: Some(cid("meta")) });
		assert_eq!(Documents::<Test>::get(did).unwrap().metadata, Some(cid("meta")));
	});
}

#[test]
fn create_refuses_a_proof_for_another_account_and_a_taken_identifier() {
	test(|| {
		let key = Signer::sr25519("alice-did");
		assert_noop!(
			Did::create(
				RuntimeOrigin::signed(BOB),
				key.public(),
				key.sign(&types::creation_message(&ALICE)),
				None,
				None
			),
			Error::<Test>::BadKeyProof
		);
		create_did(ALICE, &key);
		assert_noop!(
			Did::create(
				RuntimeOrigin::signed(BOB),
				key.public(),
				key.sign(&types::creation_message(&BOB)),
				None,
				None
			),
			Error::<Test>::DidExists
		);
	});
}

#[test]
fn after_rotation_the_old_key_is_refused_and_the_new_one_acts() {
	test(|| {
		let old = Signer::sr25519("old");
		let new = Signer::ed25519("new");
		let did = create_did(ALICE, &old);
		let proof = new.sign(&types::rotation_message(&did, nonce(did)));
		let encryption = EncryptionKey([9; 32]);
		assert_ok!(Did::rotate_keys(
			RuntimeOrigin::signed(ALICE),
			did,
			new.public(),
			proof,
			Some(encryption)
		));
		System::assert_last_event(Event::KeysRotated { did, auth_key: new.public() }.into());
		let document = Documents::<Test>::get(did).unwrap();
		assert_eq!((document.auth_key, document.encryption_key), (new.public(), Some(encryption)));
		assert_eq!(did, old.did(), "the DID stays the same");

		let action = DidAction::SetMetadata { metadata: Some(cid("meta")) };
		let (operation, signature) = signed_operation(did, &old, action.clone());
		assert_eq!(authorize(operation, signature), Err(InvalidTransaction::BadProof));
		operate(did, &new, action);
	});
}

#[test]
fn rotation_needs_the_new_keys_proof_for_this_did_and_nonce() {
	test(|| {
		let old = Signer::sr25519("old");
		let new = Signer::sr25519("new");
		let did = create_did(ALICE, &old);
		let stale = new.sign(&types::rotation_message(&did, nonce(did) + 1));
		assert_noop!(
			Did::rotate_keys(RuntimeOrigin::signed(ALICE), did, new.public(), stale, None),
			Error::<Test>::BadKeyProof
		);
		let by_old_key = old.sign(&types::rotation_message(&did, nonce(did)));
		assert_noop!(
			Did::rotate_keys(RuntimeOrigin::signed(ALICE), did, new.public(), by_old_key, None),
			Error::<Test>::BadKeyProof
		);
	});
}

#[test]
fn controllers_are_added_and_removed_and_only_they_act() {
	test(|| {
		let did = create_did(ALICE, &Signer::sr25519("did"));
		assert_noop!(
			Did::set_metadata(RuntimeOrigin::signed(BOB), did, None),
			Error::<Test>::NotController
		);
		assert_ok!(Did::add_controller(RuntimeOrigin::signed(ALICE), did, BOB));
		System::assert_last_event(Event::ControllerAdded { did, account: BOB }.into());
		assert_noop!(
			Did::add_controller(RuntimeOrigin::signed(BOB), did, ALICE),
			Error::<Test>::AlreadyController
		);
		assert_noop!(
			Did::add_controller(RuntimeOrigin::signed(BOB), did, CHARLIE),
			Error::<Test>::TooManyControllers
		);
		assert_ok!(Did::set_metadata(RuntimeOrigin::signed(BOB), did, Some(cid("meta"))));
		System::assert_last_event(Event::MetadataSet { did, metadata: Some(cid("meta")) }.into());

		assert_ok!(Did::remove_controller(RuntimeOrigin::signed(BOB), did, ALICE));
		System::assert_last_event(Event::ControllerRemoved { did, account: ALICE }.into());
		assert_noop!(
			Did::set_metadata(RuntimeOrigin::signed(ALICE), did, None),
			Error::<Test>::NotController
		);
		assert_noop!(
			Did::remove_controller(RuntimeOrigin::signed(BOB), did, ALICE),
			Error::<Test>::NotController
		);
		let document = Documents::<Test>::get(did).unwrap();
		assert_eq!(document.controllers.to_vec(), vec![BOB]);
		assert_eq!(document.nonce, 3, "every change uses a nonce");
	});
}

#[test]
fn a_revoked_did_can_do_nothing_and_its_deposit_is_released() {
	test(|| {
		let key = Signer::sr25519("did");
		let did = create_did(ALICE, &key);
		let grantee = create_did(BOB, &Signer::sr25519("grantee"));
		grant(did, "data", grantee, 100);
		assert!(Did::is_allowed(b"data", &did, &grantee));

		let (pending, pending_signature) =
			signed_operation(did, &key, DidAction::SetMetadata { metadata: None });
		assert_ok!(Did::revoke(RuntimeOrigin::signed(ALICE), did));
		System::assert_last_event(Event::DidRevoked { did }.into());
		assert!(!Did::is_allowed(b"data", &did, &grantee), "its grants no longer hold");
		// The deposit pays for the grant until the next block with room removes it.
		assert_eq!(held(ALICE), DEPOSIT);
		run_to_block(System::block_number() + 1);
		assert_eq!(held(ALICE), 0);
		assert_eq!(Balances::free_balance(ALICE), INITIAL_BALANCE);

		let signed = RuntimeOrigin::signed(ALICE);
		assert_noop!(Did::set_metadata(signed.clone(), did, None), Error::<Test>::DidRevoked);
		assert_noop!(Did::add_controller(signed.clone(), did, BOB), Error::<Test>::DidRevoked);
		assert_noop!(Did::revoke(signed.clone(), did), Error::<Test>::DidRevoked);
		assert_noop!(
			Did::grant_access(signed, did, cid("data"), grantee, 100, cid("key")),
			Error::<Test>::DidRevoked
		);
		assert_eq!(authorize(pending, pending_signature), Err(InvalidTransaction::BadSigner));
		assert_noop!(
			Did::create(
				RuntimeOrigin::signed(ALICE),
				key.public(),
				key.sign(&types::creation_message(&ALICE)),
				None,
				None
			),
			Error::<Test>::DidExists
		);
	});
}

#[test]
fn a_replayed_operation_is_refused() {
	test(|| {
		let key = Signer::sr25519("did");
		let did = create_did(ALICE, &key);
		let (operation, signature) =
			signed_operation(did, &key, DidAction::SetMetadata { metadata: Some(cid("m")) });
		assert_ok!(authorize(operation.clone(), signature.clone()));
		assert_ok!(Did::submit_operation(
			RawOrigin::Authorized.into(),
			operation.clone(),
			signature.clone()
		));
		System::assert_last_event(Event::OperationApplied { did, nonce: 0, result: Ok(()) }.into());
		assert_eq!(authorize(operation.clone(), signature.clone()), Err(InvalidTransaction::Stale));
		assert_noop!(
			Did::submit_operation(RawOrigin::Authorized.into(), operation, signature),
			Error::<Test>::BadNonce
		);
	});
}

#[test]
fn operations_are_refused_when_early_forged_or_for_another_chain() {
	test(|| {
		let key = Signer::sr25519("did");
		let did = create_did(ALICE, &key);
		let action = DidAction::SetMetadata { metadata: None };

		let (mut early, _) = signed_operation(did, &key, action.clone());
		early.nonce += 1;
		let genesis = System::block_hash(0);
		let early_signature = key.sign(&types::operation_message(&genesis, &early));
		assert_eq!(authorize(early, early_signature), Err(InvalidTransaction::Future));

		let (operation, _) = signed_operation(did, &key, action.clone());
		let other_chain = key.sign(&types::operation_message(&[1u8; 32], &operation));
		assert_eq!(authorize(operation.clone(), other_chain), Err(InvalidTransaction::BadProof));
		let forged =
			Signer::sr25519("mallory").sign(&types::operation_message(&genesis, &operation));
		assert_eq!(authorize(operation, forged), Err(InvalidTransaction::BadProof));

		let unknown = Signer::sr25519("nobody");
		let (operation, signature) = {
			let operation = crate::DidOperation { did: unknown.did(), nonce: 0, action };
			let signature = unknown.sign(&types::operation_message(&genesis, &operation));
			(operation, signature)
		};
		assert_eq!(authorize(operation, signature), Err(InvalidTransaction::BadSigner));
	});
}

#[test]
fn submit_operation_needs_the_authorized_origin() {
	test(|| {
		let key = Signer::sr25519("did");
		let did = create_did(ALICE, &key);
		let (operation, signature) =
			signed_operation(did, &key, DidAction::SetMetadata { metadata: None });
		assert_noop!(
			Did::submit_operation(RuntimeOrigin::signed(ALICE), operation, signature),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn a_failing_operation_uses_its_nonce_and_changes_nothing_else() {
	test(|| {
		let key = Signer::sr25519("did");
		let did = create_did(ALICE, &key);
		let before = Documents::<Test>::get(did).unwrap();
		operate(did, &key, DidAction::AddController { account: ALICE });
		System::assert_last_event(
			Event::OperationApplied {
				did,
				nonce: 0,
				result: Err(Error::<Test>::AlreadyController.into()),
			}
			.into(),
		);
		let after = Documents::<Test>::get(did).unwrap();
		assert_eq!(after.nonce, 1);
		assert_eq!(
			crate::DidDocument { nonce: 0, deposit: DEPOSIT, ..after },
			before,
			"nothing else changed but the fee taken from the deposit"
		);
	});
}

#[test]
fn a_did_revoked_by_its_controller_after_an_operation_keeps_no_operation_block() {
	test(|| {
		let key = Signer::sr25519("did");
		let did = create_did(ALICE, &key);
		operate(did, &key, DidAction::SetMetadata { metadata: Some(cid("m")) });
		assert!(crate::OperatedAt::<Test>::contains_key(did));
		assert_ok!(Did::revoke(RuntimeOrigin::signed(ALICE), did));
		assert!(!crate::OperatedAt::<Test>::contains_key(did));
		assert!(Documents::<Test>::get(did).unwrap().revoked.is_some());
		Did::do_try_state().unwrap();
	});
}

#[test]
fn failing_operations_are_not_free_block_space_they_cost_the_dids_deposit() {
	test(|| {
		let key = Signer::sr25519("did");
		let did = create_did(ALICE, &key);
		let failing = DidAction::AddController { account: ALICE };
		operate(did, &key, failing.clone());
		System::assert_has_event(
			Event::FailedOperationCharged { did, fee: FAILED_OPERATION_FEE }.into(),
		);
		assert_eq!(Documents::<Test>::get(did).unwrap().deposit, DEPOSIT - FAILED_OPERATION_FEE);
		assert_eq!(Balances::free_balance(TREASURY), FAILED_OPERATION_FEE);
		assert_eq!(
			Balances::free_balance(ALICE) + held(ALICE),
			INITIAL_BALANCE - FAILED_OPERATION_FEE
		);
		// A success costs nothing.
		operate(did, &key, DidAction::SetMetadata { metadata: Some(cid("m")) });
		assert_eq!(Documents::<Test>::get(did).unwrap().deposit, DEPOSIT - FAILED_OPERATION_FEE);

		// Three failures later the deposit cannot pay for another: the pool refuses it.
		operate(did, &key, failing.clone());
		operate(did, &key, failing.clone());
		let left = DEPOSIT - 3 * FAILED_OPERATION_FEE;
		assert_eq!(Documents::<Test>::get(did).unwrap().deposit, left);
		let (operation, signature) = signed_operation(did, &key, failing);
		assert_eq!(authorize(operation, signature), Err(InvalidTransaction::Payment));
	});
}

#[test]
fn flooding_blocks_with_one_dids_operations_fails_it_gets_one_a_block() {
	test(|| {
		let key = Signer::sr25519("did");
		let did = create_did(ALICE, &key);
		let (first, signature) =
			signed_operation(did, &key, DidAction::SetMetadata { metadata: Some(cid("a")) });
		assert_ok!(authorize(first.clone(), signature.clone()));
		assert_ok!(Did::submit_operation(RawOrigin::Authorized.into(), first, signature));
		assert_eq!(crate::OperatedAt::<Test>::get(did), Some(System::block_number()));
		let (second, signature) =
			signed_operation(did, &key, DidAction::SetMetadata { metadata: Some(cid("b")) });
		assert_eq!(
			authorize(second.clone(), signature.clone()),
			Err(InvalidTransaction::ExhaustsResources)
		);
		System::set_block_number(System::block_number() + 1);
		assert_ok!(authorize(second, signature));
	});
}

#[test]
fn a_did_can_manage_consent_with_its_own_key_and_no_funds() {
	test(|| {
		let key = Signer::sr25519("owner");
		let owner = create_did(ALICE, &key);
		let grantee_key = Signer::sr25519("grantee");
		let grantee = create_did(BOB, &grantee_key);
		operate(
			owner,
			&key,
			DidAction::GrantAccess {
				dataset: cid("data"),
				grantee,
				expires_at: 50,
				encrypted_key: cid("key"),
			},
		);
		assert!(Did::is_allowed(b"data", &owner, &grantee));
		operate(
			grantee,
			&grantee_key,
			DidAction::RecordAccess { dataset: cid("data"), grantor: owner },
		);
		System::assert_has_event(
			Event::AccessRecorded { dataset: cid("data"), grantor: owner, grantee, accesses: 1 }
				.into(),
		);
		operate(owner, &key, DidAction::RevokeAccess { dataset: cid("data"), grantee });
		assert!(!Did::is_allowed(b"data", &owner, &grantee));
	});
}

#[test]
fn the_chain_records_each_use_it_makes_of_granted_data_in_the_audit_trail() {
	test(|| {
		let owner = create_did(ALICE, &Signer::sr25519("owner"));
		let grantee = create_did(BOB, &Signer::sr25519("grantee"));
		let stranger = create_did(CHARLIE, &Signer::sr25519("stranger"));
		assert!(Did::is_live(&owner) && !Did::is_live(&DidId([9; 32])));
		grant(owner, "data", grantee, 10);
		Did::record_use(7, b"data", &owner, &grantee, None);
		System::assert_last_event(
			Event::AccessRecorded { dataset: cid("data"), grantor: owner, grantee, accesses: 1 }
				.into(),
		);
		// Without a grant, or once it expired, nothing is recorded.
		Did::record_use(7, b"data", &owner, &stranger, None);
		System::set_block_number(10);
		Did::record_use(7, b"data", &owner, &grantee, None);
		assert_eq!(Grants::<Test>::get((cid("data"), owner, grantee)).unwrap().accesses, 1);
	});
}

#[test]
fn a_job_is_admitted_only_while_some_live_grant_of_its_dataset_covers_it() {
	use polkadot_sdk::sp_runtime::Perbill;
	use tessera_primitives::PrivacyBudget;
	test(|| {
		let owner = create_did(ALICE, &Signer::sr25519("owner"));
		let budgeted = create_did(BOB, &Signer::sr25519("budgeted"));
		let open = create_did(CHARLIE, &Signer::sr25519("open"));
		let delta = Perbill::from_parts(10_000);
		// A grant of another dataset admits nothing on this one.
		grant(owner, "other", budgeted, 100);
		assert!(!Did::some_grant_allows(b"data", &owner, None));
		// A budgeted grant admits only the private jobs what is left of its budget covers.
		grant(owner, "data", budgeted, 10);
		let budget = PrivacyBudget { epsilon_milli: 3_000, delta };
		assert_ok!(Did::set_privacy_budget(
			RuntimeOrigin::signed(ALICE),
			owner,
			cid("data"),
			budgeted,
			Some(budget)
		));
		assert!(!Did::some_grant_allows(b"data", &owner, None));
		assert!(Did::some_grant_allows(b"data", &owner, Some((3_000, delta))));
		assert!(!Did::some_grant_allows(b"data", &owner, Some((3_001, delta))));
		// A grant without a budget admits any job, until its grantee's DID is revoked.
		grant(owner, "data", open, 100);
		assert!(Did::some_grant_allows(b"data", &owner, None));
		assert_ok!(Did::revoke(RuntimeOrigin::signed(CHARLIE), open));
		assert!(!Did::some_grant_allows(b"data", &owner, None));
		// The budgeted grant expires at block 10.
		System::set_block_number(10);
		assert!(!Did::some_grant_allows(b"data", &owner, Some((1_000, delta))));
	});
}

#[test]
fn a_grants_privacy_budget_is_spent_by_private_jobs_only_and_survives_renewal() {
	use polkadot_sdk::sp_runtime::Perbill;
	use tessera_primitives::PrivacyBudget;
	test(|| {
		let owner = create_did(ALICE, &Signer::sr25519("owner"));
		let grantee = create_did(BOB, &Signer::sr25519("grantee"));
		let budget = PrivacyBudget { epsilon_milli: 3_000, delta: Perbill::from_parts(10_000) };
		assert_noop!(
			Did::set_privacy_budget(
				RuntimeOrigin::signed(ALICE),
				owner,
				cid("data"),
				grantee,
				Some(budget)
			),
			Error::<Test>::NoSuchGrant
		);
		grant(owner, "data", grantee, 100);
		// Without a budget, any job may use the grant.
		assert!(Did::within_budget(b"data", &owner, &grantee, None));
		assert_noop!(
			Did::set_privacy_budget(
				RuntimeOrigin::signed(BOB),
				owner,
				cid("data"),
				grantee,
				Some(budget)
			),
			Error::<Test>::NotController
		);
		assert_ok!(Did::set_privacy_budget(
			RuntimeOrigin::signed(ALICE),
			owner,
			cid("data"),
			grantee,
			Some(budget)
		));
		System::assert_last_event(
			Event::PrivacyBudgetSet {
				dataset: cid("data"),
				grantor: owner,
				grantee,
				budget: Some(budget),
			}
			.into(),
		);
		let delta = Perbill::from_parts(10_000);
		assert!(!Did::within_budget(b"data", &owner, &grantee, None), "a job adding no noise");
		assert!(!Did::within_budget(
			b"data",
			&owner,
			&grantee,
			Some((100, Perbill::from_parts(20_000)))
		));
		assert!(Did::within_budget(b"data", &owner, &grantee, Some((2_000, delta))));

		Did::record_use(7, b"data", &owner, &grantee, Some(2_000));
		System::assert_last_event(
			Event::PrivacySpent {
				job: 7,
				dataset: cid("data"),
				grantor: owner,
				grantee,
				epsilon_milli: 2_000,
				spent_epsilon_milli: 2_000,
			}
			.into(),
		);
		assert!(!Did::within_budget(b"data", &owner, &grantee, Some((2_000, delta))));
		// Renewing the grant does not give back what was released.
		grant(owner, "data", grantee, 200);
		let renewed = Grants::<Test>::get((cid("data"), owner, grantee)).unwrap();
		assert_eq!((renewed.budget, renewed.spent_epsilon_milli), (Some(budget), 2_000));
		assert!(Did::within_budget(b"data", &owner, &grantee, Some((1_000, delta))));
	});
}

#[test]
fn grants_are_events_and_consent_follows_them() {
	test(|| {
		let owner = create_did(ALICE, &Signer::sr25519("owner"));
		let grantee = create_did(BOB, &Signer::sr25519("grantee"));
		let stranger = create_did(CHARLIE, &Signer::sr25519("stranger"));
		grant(owner, "data", grantee, 10);
		System::assert_last_event(
			Event::AccessGranted { dataset: cid("data"), grantor: owner, grantee, expires_at: 10 }
				.into(),
		);
		assert!(Did::is_allowed(b"data", &owner, &grantee));
		assert!(!Did::is_allowed(b"data", &owner, &stranger));
		assert!(!Did::is_allowed(b"other", &owner, &grantee));
		assert!(!Did::is_allowed(b"data", &stranger, &grantee), "only the grantor's consent");
		assert!(!Did::is_allowed(&[0u8; 65], &owner, &grantee), "an over-long CID");

		assert_ok!(Did::record_access(RuntimeOrigin::signed(BOB), grantee, cid("data"), owner));
		assert_ok!(Did::record_access(RuntimeOrigin::signed(BOB), grantee, cid("data"), owner));
		assert_eq!(Grants::<Test>::get((cid("data"), owner, grantee)).unwrap().accesses, 2);
		assert_noop!(
			Did::record_access(RuntimeOrigin::signed(CHARLIE), stranger, cid("data"), owner),
			Error::<Test>::NoSuchGrant
		);

		assert_ok!(Did::revoke_access(RuntimeOrigin::signed(ALICE), owner, cid("data"), grantee));
		System::assert_last_event(
			Event::AccessRevoked { dataset: cid("data"), grantor: owner, grantee }.into(),
		);
		assert!(!Did::is_allowed(b"data", &owner, &grantee));
		assert_eq!(GrantCount::<Test>::get(owner), 0);
		assert_noop!(
			Did::revoke_access(RuntimeOrigin::signed(ALICE), owner, cid("data"), grantee),
			Error::<Test>::NoSuchGrant
		);
	});
}

#[test]
fn an_expired_grant_is_refused() {
	test(|| {
		let owner = create_did(ALICE, &Signer::sr25519("owner"));
		let grantee = create_did(BOB, &Signer::sr25519("grantee"));
		grant(owner, "data", grantee, 10);
		System::set_block_number(9);
		assert!(Did::is_allowed(b"data", &owner, &grantee));
		System::set_block_number(10);
		assert!(!Did::is_allowed(b"data", &owner, &grantee));
		assert_noop!(
			Did::record_access(RuntimeOrigin::signed(BOB), grantee, cid("data"), owner),
			Error::<Test>::GrantExpired
		);
		assert_noop!(
			Did::grant_access(
				RuntimeOrigin::signed(ALICE),
				owner,
				cid("data"),
				grantee,
				10,
				cid("k")
			),
			Error::<Test>::ExpiryInPast
		);
	});
}

#[test]
fn grants_are_bounded_per_did_and_need_a_live_grantee() {
	test(|| {
		let owner = create_did(ALICE, &Signer::sr25519("owner"));
		let grantee = create_did(BOB, &Signer::sr25519("grantee"));
		assert_noop!(
			Did::grant_access(
				RuntimeOrigin::signed(ALICE),
				owner,
				cid("data"),
				Signer::sr25519("nobody").did(),
				10,
				cid("k")
			),
			Error::<Test>::UnknownGrantee
		);
		for index in 0..MAX_GRANTS {
			grant(owner, &format!("data-{index}"), grantee, 10);
		}
		// Replacing a grant does not count twice.
		grant(owner, "data-0", grantee, 20);
		assert_eq!(GrantCount::<Test>::get(owner), MAX_GRANTS);
		assert_noop!(
			Did::grant_access(
				RuntimeOrigin::signed(ALICE),
				owner,
				cid("more"),
				grantee,
				10,
				cid("k")
			),
			Error::<Test>::TooManyGrants
		);
	});
}

#[test]
fn the_runtime_api_lists_grants_by_dataset_and_by_grantee() {
	test(|| {
		let owner = create_did(ALICE, &Signer::sr25519("owner"));
		let first = create_did(BOB, &Signer::sr25519("first"));
		let second = create_did(CHARLIE, &Signer::sr25519("second"));
		grant(owner, "data", first, 10);
		grant(owner, "data", second, 20);
		grant(owner, "other", first, 30);

		let mut on_data: Vec<_> =
			Did::grants_for_dataset(b"data".to_vec()).into_iter().map(|g| g.grantee).collect();
		on_data.sort();
		let mut expected = vec![first, second];
		expected.sort();
		assert_eq!(on_data, expected);

		let mut to_first: Vec<_> =
			Did::grants_to(first).into_iter().map(|g| (g.dataset, g.grant.expires_at)).collect();
		to_first.sort();
		assert_eq!(to_first, vec![(b"data".to_vec(), 10), (b"other".to_vec(), 30)]);

		let resolved = Did::resolve(owner).expect("a DID");
		assert_eq!(resolved.controllers, vec![ALICE]);
		assert_eq!(Did::resolve(Signer::sr25519("nobody").did()), None);
	});
}

#[test]
fn try_state_catches_a_grant_count_that_does_not_match() {
	new_test_ext().execute_with(|| {
		let owner = create_did(ALICE, &Signer::sr25519("owner"));
		let grantee = create_did(BOB, &Signer::sr25519("grantee"));
		grant(owner, "data", grantee, 10);
		GrantCount::<Test>::insert(owner, 2);
		assert!(Did::do_try_state().is_err());
	});
}

#[test]
fn did_control_follows_controllers_and_revocation() {
	use tessera_primitives::DidControl;
	test(|| {
		let did = create_did(ALICE, &Signer::sr25519("did"));
		assert!(Did::is_controller(&did, &ALICE));
		assert!(!Did::is_controller(&did, &BOB));
		assert!(!Did::is_controller(&Signer::sr25519("nobody").did(), &ALICE));
		assert_ok!(Did::revoke(RuntimeOrigin::signed(ALICE), did));
		assert!(!Did::is_controller(&did, &ALICE), "a revoked DID has no controllers");
	});
}

#[test]
fn a_revoked_did_leaves_no_grants_behind() {
	use polkadot_sdk::frame_support::{traits::Hooks, weights::Weight};
	test(|| {
		let owner = create_did(ALICE, &Signer::sr25519("owner"));
		let other = create_did(CHARLIE, &Signer::sr25519("other"));
		let grantee = create_did(BOB, &Signer::sr25519("grantee"));
		for dataset in ["a", "b", "c"] {
			grant(owner, dataset, grantee, 100);
		}
		assert_ok!(Did::grant_access(
			RuntimeOrigin::signed(CHARLIE),
			other,
			cid("d"),
			grantee,
			100,
			cid("key-cid")
		));
		assert_ok!(Did::revoke(RuntimeOrigin::signed(ALICE), owner));
		assert_ok!(Did::revoke(RuntimeOrigin::signed(CHARLIE), other));
		System::assert_last_event(Event::DidRevoked { did: other }.into());
		// Revoked, the grants no longer hold, and the deposits still pay for them.
		assert!(!Did::is_allowed(b"a", &owner, &grantee));
		assert_eq!((held(ALICE), held(CHARLIE)), (DEPOSIT, DEPOSIT));
		assert_eq!(Grants::<Test>::iter().count(), 4);
		assert_eq!(RevokedWithGrants::<Test>::iter().count(), 2);

		// A block with no weight left over removes nothing; one with a step's weight
		// removes one DID's grants, and the other waits for the next block.
		assert_eq!(Did::on_idle(2, Weight::zero()), Weight::zero());
		let one_step = Did::grant_removal_step();
		assert_eq!(Did::on_idle(2, one_step), one_step);
		assert_eq!(RevokedWithGrants::<Test>::iter().count(), 1);
		let (first, depositor, removed) = if RevokedWithGrants::<Test>::contains_key(owner) {
			(other, CHARLIE, 1)
		} else {
			(owner, ALICE, 3)
		};
		System::assert_has_event(
			Event::RevokedGrantsRemoved { did: first, removed, left: 0 }.into(),
		);
		System::assert_last_event(
			Event::DepositReleased { did: first, depositor, deposit: DEPOSIT }.into(),
		);
		assert_eq!(held(depositor), 0);

		run_to_block(3);
		assert_eq!(Grants::<Test>::iter().count(), 0);
		assert_eq!(crate::GrantsOf::<Test>::iter().count(), 0);
		assert_eq!(GrantCount::<Test>::iter().count(), 0);
		assert_eq!(RevokedWithGrants::<Test>::iter().count(), 0);
		assert_eq!((held(ALICE), held(CHARLIE)), (0, 0));
		for who in [ALICE, CHARLIE] {
			assert_eq!(Balances::free_balance(who), INITIAL_BALANCE);
		}
		assert_eq!(Documents::<Test>::get(owner).unwrap().deposit, 0);
	});
}

#[test]
fn try_state_catches_a_grant_missing_from_its_grantors_index() {
	new_test_ext().execute_with(|| {
		let owner = create_did(ALICE, &Signer::sr25519("owner"));
		let grantee = create_did(BOB, &Signer::sr25519("grantee"));
		grant(owner, "data", grantee, 10);
		assert_ok!(Did::do_try_state());
		crate::GrantsOf::<Test>::remove(owner, (cid("data"), grantee));
		assert_eq!(Did::do_try_state(), Err("a grant its grantor's index misses".into()));
	});
}

#[test]
fn try_state_catches_a_revoked_did_holding_a_deposit_for_no_grants() {
	new_test_ext().execute_with(|| {
		let owner = create_did(ALICE, &Signer::sr25519("owner"));
		let grantee = create_did(BOB, &Signer::sr25519("grantee"));
		grant(owner, "data", grantee, 10);
		assert_ok!(Did::revoke(RuntimeOrigin::signed(ALICE), owner));
		assert_ok!(Did::do_try_state());
		RevokedWithGrants::<Test>::remove(owner);
		assert_eq!(Did::do_try_state(), Err("a revoked DID holds a deposit for no grants".into()));
	});
}
