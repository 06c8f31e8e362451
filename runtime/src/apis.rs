//! The runtime APIs: what the node, the collator and clients may ask of the runtime.

use alloc::vec::Vec;
use frame_support::{
	genesis_builder_helper::{build_state, get_preset},
	traits::Get,
	weights::Weight,
};
use polkadot_sdk::*;
use sp_api::impl_runtime_apis;
use sp_core::{crypto::KeyTypeId, OpaqueMetadata};
use sp_runtime::{
	traits::Block as BlockT,
	transaction_validity::{TransactionSource, TransactionValidity},
	ApplyExtrinsicResult,
};
use sp_version::RuntimeVersion;

use super::{
	genesis_config_presets, AccountId, AuraId, Balance, Block, BlockNumber, ConsensusHook, Did,
	Executive, InherentDataExt, ModelRegistry, NodeRegistry, Nonce, ParachainInfo, ParachainSystem,
	ProofOfCompute, Reputation, Runtime, RuntimeCall, RuntimeGenesisConfig, SessionKeys, System,
	TransactionPayment, BLOCK_PROCESSING_VELOCITY, SLOT_DURATION, VERSION,
};

impl_runtime_apis! {
	impl sp_api::Core<Block> for Runtime {
		fn version() -> RuntimeVersion {
			VERSION
		}

		fn execute_block(block: <Block as BlockT>::LazyBlock) {
			Executive::execute_block(block)
		}

		fn initialize_block(header: &<Block as BlockT>::Header) -> sp_runtime::ExtrinsicInclusionMode {
			Executive::initialize_block(header)
		}
	}

	impl sp_api::Metadata<Block> for Runtime {
		fn metadata() -> OpaqueMetadata {
			OpaqueMetadata::new(Runtime::metadata().into())
		}

		fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
			Runtime::metadata_at_version(version)
		}

		fn metadata_versions() -> Vec<u32> {
			Runtime::metadata_versions()
		}
	}

	impl sp_block_builder::BlockBuilder<Block> for Runtime {
		fn apply_extrinsic(extrinsic: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
			Executive::apply_extrinsic(extrinsic)
		}

		fn finalize_block() -> <Block as BlockT>::Header {
			Executive::finalize_block()
		}

		fn inherent_extrinsics(data: sp_inherents::InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
			data.create_extrinsics()
		}

		fn check_inherents(
			block: <Block as BlockT>::LazyBlock,
			data: sp_inherents::InherentData,
		) -> sp_inherents::CheckInherentsResult {
			data.check_extrinsics(&block)
		}
	}

	impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
		fn validate_transaction(
			source: TransactionSource,
			tx: <Block as BlockT>::Extrinsic,
			block_hash: <Block as BlockT>::Hash,
		) -> TransactionValidity {
			Executive::validate_transaction(source, tx, block_hash)
		}
	}

	impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
		fn offchain_worker(header: &<Block as BlockT>::Header) {
			Executive::offchain_worker(header)
		}
	}

	impl sp_session::SessionKeys<Block> for Runtime {
		fn generate_session_keys(
			owner: Vec<u8>,
			seed: Option<Vec<u8>>,
		) -> sp_session::OpaqueGeneratedSessionKeys {
			SessionKeys::generate(&owner, seed).into()
		}

		fn decode_session_keys(encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, KeyTypeId)>> {
			SessionKeys::decode_into_raw_public_keys(&encoded)
		}
	}

	impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
		fn slot_duration() -> sp_consensus_aura::SlotDuration {
			sp_consensus_aura::SlotDuration::from_millis(SLOT_DURATION)
		}

		fn authorities() -> Vec<AuraId> {
			pallet_aura::Authorities::<Runtime>::get().into_inner()
		}
	}

	impl cumulus_primitives_aura::AuraUnincludedSegmentApi<Block> for Runtime {
		fn can_build_upon(
			included_hash: <Block as BlockT>::Hash,
			slot: cumulus_primitives_aura::Slot,
		) -> bool {
			ConsensusHook::can_build_upon(included_hash, slot)
		}
	}

	impl cumulus_primitives_core::CollectCollationInfo<Block> for Runtime {
		fn collect_collation_info(header: &<Block as BlockT>::Header) -> cumulus_primitives_core::CollationInfo {
			ParachainSystem::collect_collation_info(header)
		}
	}

	impl cumulus_primitives_core::GetParachainInfo<Block> for Runtime {
		fn parachain_id() -> cumulus_primitives_core::ParaId {
			ParachainInfo::parachain_id()
		}
	}

	impl cumulus_primitives_core::RelayParentOffsetApi<Block> for Runtime {
		fn relay_parent_offset() -> u32 {
			<Runtime as cumulus_pallet_parachain_system::Config>::RelayParentOffset::get()
		}

		fn max_claim_queue_offset() -> u8 {
			ParachainSystem::max_claim_queue_offset()
		}
	}

	impl cumulus_primitives_core::TargetBlockRate<Block> for Runtime {
		fn target_block_rate() -> u32 {
			BLOCK_PROCESSING_VELOCITY
		}
	}

	impl frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
		fn account_nonce(account: AccountId) -> Nonce {
			System::account_nonce(account)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
		fn query_info(
			uxt: <Block as BlockT>::Extrinsic,
			len: u32,
		) -> pallet_transaction_payment_rpc_runtime_api::RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_info(uxt, len)
		}

		fn query_fee_details(
			uxt: <Block as BlockT>::Extrinsic,
			len: u32,
		) -> pallet_transaction_payment::FeeDetails<Balance> {
			TransactionPayment::query_fee_details(uxt, len)
		}

		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}

		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentCallApi<Block, Balance, RuntimeCall>
		for Runtime
	{
		fn query_call_info(
			call: RuntimeCall,
			len: u32,
		) -> pallet_transaction_payment::RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_call_info(call, len)
		}

		fn query_call_fee_details(
			call: RuntimeCall,
			len: u32,
		) -> pallet_transaction_payment::FeeDetails<Balance> {
			TransactionPayment::query_call_fee_details(call, len)
		}

		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}

		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	impl pallet_node_registry::runtime_api::NodeRegistryApi<Block, AccountId, Balance, BlockNumber> for Runtime {
		fn node(
			node: tessera_primitives::NodeId,
		) -> Option<pallet_node_registry::runtime_api::NodeRecord<AccountId, Balance, BlockNumber>> {
			NodeRegistry::node_record(node)
		}

		fn nodes_of(owner: AccountId) -> Vec<tessera_primitives::NodeId> {
			pallet_node_registry::NodesOf::<Runtime>::get(owner).into_inner()
		}

		fn node_of_key(key: tessera_primitives::NodePublic) -> Option<tessera_primitives::NodeId> {
			pallet_node_registry::NodeOfKey::<Runtime>::get(key)
		}
	}

	impl pallet_reputation::runtime_api::ReputationApi<Block> for Runtime {
		fn reputation(node: tessera_primitives::NodeId) -> Option<pallet_reputation::ReputationView> {
			Reputation::view(node)
		}
	}

	impl pallet_proof_of_compute::runtime_api::ComputeApi<Block, AccountId, Balance, BlockNumber> for Runtime {
		fn job(job: tessera_primitives::JobId) -> Option<pallet_proof_of_compute::JobInfoOf<Runtime>> {
			pallet_proof_of_compute::Jobs::<Runtime>::get(job)
		}

		fn spec(job: tessera_primitives::JobId) -> Option<tessera_primitives::JobSpec> {
			pallet_proof_of_compute::JobSpecs::<Runtime>::get(job)
		}

		fn assignments(job: tessera_primitives::JobId) -> Vec<tessera_primitives::NodeId> {
			pallet_proof_of_compute::Assignments::<Runtime>::get(job).map(|nodes| nodes.into_inner()).unwrap_or_default()
		}

		fn commitments(job: tessera_primitives::JobId) -> Vec<pallet_proof_of_compute::runtime_api::CheckpointView> {
			ProofOfCompute::commitments_of(job)
		}

		fn payouts(job: tessera_primitives::JobId) -> Vec<(tessera_primitives::NodeId, Balance)> {
			pallet_proof_of_compute::Payouts::<Runtime>::get(job).into_inner()
		}
	}

	impl pallet_did::runtime_api::DidApi<Block, AccountId, Balance, BlockNumber> for Runtime {
		fn resolve(
			did: tessera_primitives::DidId,
		) -> Option<pallet_did::runtime_api::DidRecord<AccountId, Balance, BlockNumber>> {
			Did::resolve(did)
		}

		fn grants_for_dataset(dataset: Vec<u8>) -> Vec<pallet_did::runtime_api::GrantRecord<BlockNumber>> {
			Did::grants_for_dataset(dataset)
		}

		fn grants_to(grantee: tessera_primitives::DidId) -> Vec<pallet_did::runtime_api::GrantRecord<BlockNumber>> {
			Did::grants_to(grantee)
		}
	}

	impl pallet_model_registry::runtime_api::ModelApi<Block, AccountId, Balance, BlockNumber> for Runtime {
		fn model(model: pallet_model_registry::ModelId) -> Option<pallet_model_registry::Model<AccountId, Balance>> {
			pallet_model_registry::Models::<Runtime>::get(model)
		}

		fn versions(
			model: pallet_model_registry::ModelId,
		) -> Vec<(pallet_model_registry::VersionIndex, pallet_model_registry::Version<BlockNumber>)> {
			ModelRegistry::versions_of(model)
		}

		fn lineage(
			model: pallet_model_registry::ModelId,
			version: pallet_model_registry::VersionIndex,
		) -> Vec<pallet_model_registry::VersionIndex> {
			ModelRegistry::lineage(model, version)
		}

		fn open_proposals() -> Vec<(pallet_model_registry::ProposalId, pallet_model_registry::ProposalOf<Runtime>)> {
			pallet_model_registry::Proposals::<Runtime>::iter().collect()
		}

		fn datasets() -> Vec<(pallet_model_registry::DatasetId, pallet_model_registry::Dataset)> {
			pallet_model_registry::Datasets::<Runtime>::iter().collect()
		}
	}

	impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
		fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
			build_state::<RuntimeGenesisConfig>(config)
		}

		fn get_preset(id: &Option<sp_genesis_builder::PresetId>) -> Option<Vec<u8>> {
			get_preset::<RuntimeGenesisConfig>(id, genesis_config_presets::get_preset)
		}

		fn preset_names() -> Vec<sp_genesis_builder::PresetId> {
			genesis_config_presets::preset_names()
		}
	}

	#[cfg(feature = "try-runtime")]
	impl frame_try_runtime::TryRuntime<Block> for Runtime {
		fn on_runtime_upgrade(checks: frame_try_runtime::UpgradeCheckSelect) -> (Weight, Weight) {
			let weight = Executive::try_runtime_upgrade(checks)
				.expect("a failed try-runtime upgrade check must abort the run");
			(weight, super::configs::RuntimeBlockWeights::get().max_block)
		}

		fn execute_block(
			block: <Block as BlockT>::LazyBlock,
			state_root_check: bool,
			signature_check: bool,
			select: frame_try_runtime::TryStateSelect,
		) -> Weight {
			Executive::try_execute_block(block, state_root_check, signature_check, select)
				.expect("a failed try-runtime block execution must abort the run")
		}
	}

	#[cfg(feature = "runtime-benchmarks")]
	impl frame_benchmarking::Benchmark<Block> for Runtime {
		fn benchmark_metadata(extra: bool) -> (
			Vec<frame_benchmarking::BenchmarkList>,
			Vec<frame_support::traits::StorageInfo>,
		) {
			super::benchmarks::metadata(extra)
		}

		fn dispatch_benchmark(
			config: frame_benchmarking::BenchmarkConfig,
		) -> Result<Vec<frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
			super::benchmarks::dispatch(config)
		}
	}
}
