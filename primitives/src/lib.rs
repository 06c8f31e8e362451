//! # Tessera primitives
//!
//! `no_std` types shared by Tessera's pallets, runtime, node and trainer. Cross-pallet
//! traits live here so that no pallet depends on another pallet's crate.

#![cfg_attr(not(feature = "std"), no_std)]

/// The crypto type of a compute node's own key, as stored in the node's keystore.
pub const NODE_KEY_TYPE: [u8; 4] = *b"tsra";
