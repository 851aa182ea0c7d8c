//! The `mcpgen` command line.

fn main() {}
