//! Loading: the only stage that reads input files.
