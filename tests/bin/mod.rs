//! The binary under test, defined once for every test file (`mod bin;`,
//! which `mcp_client` and `emulator` need too).

/// Path of the `mcc-bench` binary Cargo built for the tests.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_mcc-bench");
