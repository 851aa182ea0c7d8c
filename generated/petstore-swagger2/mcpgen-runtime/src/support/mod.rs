//! What every layer leans on: flags and settings, secrets, media types, bounded tables, JSON
//! Schema validation, and the basics of HTTP clients (the crypto provider, error text, JSON
//! from authorization servers).

pub mod bounded;
pub mod cli;
pub mod fetch;
pub mod flags;
pub mod http;
pub mod media;
pub mod principal;
pub mod requirements;
pub mod secret;
pub mod settings;
pub mod validate;
