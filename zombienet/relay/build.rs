fn main() {
	// The node and its workers check each other's version and commit at start-up.
	substrate_build_script_utils::generate_cargo_keys();
}
