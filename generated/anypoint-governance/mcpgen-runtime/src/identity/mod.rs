//! Who is acting: the caller (their token checked), whose token reaches the upstream (client
//! credentials, token exchange, passthrough), and the tokens that bind a human's confirmation
//! to one call.

pub mod caller;
pub mod confirm;
pub mod upstream_token;
