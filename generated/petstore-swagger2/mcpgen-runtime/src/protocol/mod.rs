//! MCP itself: the rmcp handler over the tool catalog, the stdio and streamable HTTP
//! transports, the HTTP authorization layer in front of `/mcp`, `tools/list` pages written from
//! the schema texts, and serving (from settings to a running transport).

pub mod http_auth;
pub mod pages;
pub mod serve;
pub mod server;
pub mod stdio;
pub mod transport;
