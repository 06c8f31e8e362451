//! A call-sequence fuzzer for Tessera's pallets (issue 26).
//!
//! The test in `fuzz` drives random sequences of every pallet's calls, from honest and
//! hostile accounts and from registered and unregistered node keys, through [`runtime`]: a
//! test runtime with balances and all five Tessera pallets wired together as the parachain's
//! runtime wires them. After every block it checks every pallet's `do_try_state` and that
//! the total issuance is conserved. The crate has no library code of its own.

#![cfg(test)]

mod actions;
mod fuzz;
mod runtime;
