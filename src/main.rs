//! The `mcpgen` command line: parse flags, run one command, render diagnostics, exit.
//!
//! Exit codes: 0 success, 1 problems in the inputs (diagnostics), 2 usage errors.

/// mcpgen allocates many small JSON values on every core; mimalloc keeps that cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand, ValueEnum};
use mcpgen::diag::{Diagnostic, Diagnostics, Location};
use std::path::PathBuf;
use std::process::ExitCode;

/// Generates governed Rust MCP servers from OpenAPI specs and an annotation file.
#[derive(Parser)]
#[command(name = "mcpgen", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the server crate described by an annotation file.
    Build {
        /// The annotation file.
        #[arg(short = 'c', long = "config", default_value = "mcpgen.yaml")]
        config: PathBuf,
        /// Output directory (default: the server name, in the current directory).
        #[arg(short = 'o', long = "out")]
        out: Option<PathBuf>,
        /// Depend on this mcpgen-runtime crate (path relative to the output directory) instead of
        /// vendoring a copy, e.g. for many servers in one repository.
        #[arg(long = "runtime-path", value_name = "PATH")]
        runtime_path: Option<String>,
    },
    /// Write a starter annotation file listing every operation of a spec.
    Init {
        /// The OpenAPI or Swagger document.
        spec: PathBuf,
        /// Where to write the annotation file.
        #[arg(short = 'o', long = "out", default_value = "mcpgen.yaml")]
        out: PathBuf,
        /// Which operations to enable.
        #[arg(long, value_enum, default_value_t = SelectArg::None)]
        select: SelectArg,
        /// Overwrite the output file if it exists.
        #[arg(long)]
        force: bool,
        /// Also write a starter OpenAPI Overlay at this path, for fixes to the spec, and list it
        /// after the spec in the annotation file.
        #[arg(long, value_name = "PATH")]
        overlay: Option<PathBuf>,
    },
    /// List the operations of a spec and the tools they become.
    List {
        /// An OpenAPI or Swagger document (or use -c for an annotation file).
        spec: Option<PathBuf>,
        /// An annotation file: also show which tools its operations become.
        #[arg(short = 'c', long = "config", conflicts_with = "spec")]
        config: Option<PathBuf>,
    },
    /// Exit 1, showing the differences, when the output is not what `build` would write.
    Check {
        /// The annotation file.
        #[arg(short = 'c', long = "config", default_value = "mcpgen.yaml")]
        config: PathBuf,
        /// Output directory (default: the server name, in the current directory).
        #[arg(short = 'o', long = "out")]
        out: Option<PathBuf>,
        /// As for `build`.
        #[arg(long = "runtime-path", value_name = "PATH")]
        runtime_path: Option<String>,
    },
    /// Classify the changes between two tool contracts: exit 0 none, 3 compatible only, 4
    /// breaking with a major version bump, 5 breaking without one.
    Diff {
        /// Old contract: an mcp-contract.json, an annotation file, or REV:PATH of either.
        old: Option<String>,
        /// New contract, likewise.
        new: Option<String>,
        /// An annotation file, to compare two versions of its spec (with --old-spec, --new-spec).
        #[arg(short = 'c', long = "config", requires_all = ["old_spec", "new_spec"], conflicts_with_all = ["old", "new"])]
        config: Option<PathBuf>,
        /// The spec's old version.
        #[arg(long = "old-spec", requires = "config")]
        old_spec: Option<PathBuf>,
        /// The spec's new version.
        #[arg(long = "new-spec", requires = "config")]
        new_spec: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Text)]
        format: FormatArg,
    },
    /// Check the tool surface: prompt injection in descriptions, overbroad tools, unredacted
    /// personal or secret data, token budgets, client profiles. Exit 1 on errors.
    Lint {
        /// The annotation file.
        #[arg(short = 'c', long = "config", default_value = "mcpgen.yaml")]
        config: PathBuf,
        /// Output: text diagnostics on stderr, or SARIF 2.1.0 on stdout.
        #[arg(long, value_enum, default_value_t = LintFormatArg::Text)]
        format: LintFormatArg,
        /// Client profile to check (anthropic, openai, gemini; repeatable), besides the
        /// annotation file's `server.profiles`.
        #[arg(long = "profile")]
        profiles: Vec<String>,
        /// Fail on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// Budget of approximate tokens per tool definition.
        #[arg(long, default_value_t = 2000)]
        max_tool_tokens: usize,
        /// Budget of approximate tokens for the whole tools/list.
        #[arg(long, default_value_t = 30000)]
        max_total_tokens: usize,
    },
    /// Write a review report for a security board: one self-contained HTML page with every tool
    /// (what it can do, scopes, upstream identity, what leaves the server), the lint findings
    /// and, with --against, the contract's changes.
    Report {
        /// The annotation file.
        #[arg(short = 'c', long = "config", default_value = "mcpgen.yaml")]
        config: PathBuf,
        /// The earlier contract: an mcp-contract.json, an annotation file, or REV:PATH of either.
        #[arg(long)]
        against: Option<String>,
        /// Where the page is written.
        #[arg(short = 'o', long = "out", default_value = "report.html")]
        out: PathBuf,
    },
    /// Print the JSON Schema of the annotation file.
    Schema,
}

#[derive(Clone, Copy, ValueEnum)]
enum LintFormatArg {
    /// Diagnostics on stderr.
    Text,
    /// SARIF 2.1.0 on stdout.
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Plain text.
    Text,
    /// Markdown, for a pull-request comment.
    Markdown,
    /// JSON.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SelectArg {
    /// Enable nothing.
    None,
    /// Enable every GET and HEAD operation.
    Read,
    /// Enable every operation.
    All,
}

fn main() -> ExitCode {
    mcpgen::return_freed_memory_promptly();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    let result = match cli.command {
        Command::Build {
            config,
            out,
            runtime_path,
        } => mcpgen::cli::build(&config, out.as_deref(), runtime_path.as_deref()),
        Command::Init {
            spec,
            out,
            select,
            force,
            overlay,
        } => {
            let select = match select {
                SelectArg::None => mcpgen::init::Select::None,
                SelectArg::Read => mcpgen::init::Select::Read,
                SelectArg::All => mcpgen::init::Select::All,
            };
            mcpgen::cli::init(&spec, &out, select, force, overlay.as_deref())
        }
        Command::List { spec, config } => match (spec, config) {
            (Some(spec), None) => mcpgen::cli::list_spec(&spec),
            (None, Some(config)) => mcpgen::cli::list_config(&config),
            _ => Err(Diagnostics::from(
                Diagnostic::error(
                    "usage",
                    Location::None,
                    "give a spec file or -c <annotation file>",
                )
                .with_help("mcpgen list openapi.yaml, or mcpgen list -c mcpgen.yaml"),
            )),
        },
        Command::Check {
            config,
            out,
            runtime_path,
        } => mcpgen::cli::check(&config, out.as_deref(), runtime_path.as_deref()),
        Command::Diff {
            old,
            new,
            config,
            old_spec,
            new_spec,
            format,
        } => {
            let format = match format {
                FormatArg::Text => mcpgen::cli::DiffFormat::Text,
                FormatArg::Markdown => mcpgen::cli::DiffFormat::Markdown,
                FormatArg::Json => mcpgen::cli::DiffFormat::Json,
            };
            let specs = match (&config, &old_spec, &new_spec) {
                (Some(c), Some(o), Some(n)) => Some((c.as_path(), o.as_path(), n.as_path())),
                _ => None,
            };
            return match mcpgen::cli::diff(old.as_deref(), new.as_deref(), specs, format) {
                Ok(outcome) => ExitCode::from(match outcome {
                    mcpgen::cli::DiffOutcome::Unchanged => 0,
                    mcpgen::cli::DiffOutcome::Compatible => 3,
                    mcpgen::cli::DiffOutcome::BreakingBumped => 4,
                    mcpgen::cli::DiffOutcome::Breaking => 5,
                }),
                Err(diagnostics) => {
                    eprint!("{}", diagnostics.render());
                    ExitCode::from(1)
                }
            };
        }
        Command::Lint {
            config,
            format,
            profiles,
            deny_warnings,
            max_tool_tokens,
            max_total_tokens,
        } => {
            let mut options = mcpgen::lint::LintOptions {
                max_tool_tokens,
                max_total_tokens,
                ..Default::default()
            };
            for name in &profiles {
                match mcpgen::ir::Profile::parse(name) {
                    Some(profile) => options.profiles.push(profile),
                    None => {
                        eprintln!(
                            "error: `{name}` is not a client profile (anthropic, openai, gemini)"
                        );
                        return ExitCode::from(2);
                    }
                }
            }
            let format = match format {
                LintFormatArg::Text => mcpgen::cli::LintFormat::Text,
                LintFormatArg::Sarif => mcpgen::cli::LintFormat::Sarif,
            };
            mcpgen::cli::lint(&config, &options, format, deny_warnings)
        }
        Command::Report {
            config,
            against,
            out,
        } => mcpgen::cli::report(&config, against.as_deref(), &out),
        Command::Schema => {
            print!("{}", mcpgen::annotations::json_schema());
            Ok(Diagnostics::new())
        }
    };
    match result {
        Ok(warnings) => {
            if !warnings.is_empty() {
                eprint!("{}", warnings.render());
            }
            ExitCode::SUCCESS
        }
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render());
            ExitCode::from(1)
        }
    }
}
