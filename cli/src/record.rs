//! `shifter history`: the record every deployment leaves (docs/history.md), newest first, read
//! from the stack's records table through the `DeploymentRecords` port. (Not to be confused with
//! `operate/history.rs`, which reads one execution's Step Functions history.)

use chrono::{DateTime, Utc};
use shifter::domain::record::DeploymentRecord;
use shifter::domain::text::cut_chars;
use shifter::ports::DeploymentRecords;

use crate::error::CliError;

/// Arguments of `shifter history`.
#[derive(clap::Args)]
pub struct Args {
    /// FUNCTION or FUNCTION:ALIAS (a function ARN too); every deployment when absent.
    #[arg(value_name = "FUNCTION[:ALIAS]")]
    target: Option<String>,
    /// Only deployments started this recently: 7d, 12h, 30m.
    #[arg(long, value_name = "DURATION")]
    since: Option<String>,
    /// Show the one record of this execution, with its timeline.
    #[arg(long, value_name = "ARN", conflicts_with_all = ["target", "since"])]
    execution: Option<String>,
    /// JSON for scripts: a list of records (or the one record with --execution).
    #[arg(long)]
    json: bool,
    /// The records table (the stack's `DeploymentRecordsTableName` output).
    #[arg(long, value_name = "NAME", conflicts_with = "stack")]
    table: Option<String>,
    /// The Traffic Shifter stack whose records table to read.
    #[arg(long, value_name = "NAME")]
    stack: Option<String>,
    /// Send the AWS calls to this endpoint (a local emulator).
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
}

/// What to list, checked before any AWS call.
#[derive(Debug, PartialEq, Eq)]
enum Query {
    /// One execution, by its name.
    Execution(String),
    /// Every alias of every function (`function` set: of that function only).
    All {
        function: Option<String>,
        since: Option<DateTime<Utc>>,
    },
    /// One alias.
    Alias {
        function: String,
        alias: String,
        since: Option<DateTime<Utc>>,
    },
}

/// `--since`: a duration back from `now`; errors name the flag.
fn since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, CliError> {
    let back = humantime::parse_duration(text.trim()).map_err(|e| {
        CliError::Usage(format!(
            "--since {text}: {e} (give a duration such as 7d, 12h or 30m)"
        ))
    })?;
    let back = chrono::Duration::from_std(back)
        .map_err(|_| CliError::Usage(format!("--since {text}: too long")))?;
    now.checked_sub_signed(back)
        .ok_or_else(|| CliError::Usage(format!("--since {text}: too long")))
}

/// `FUNCTION[:ALIAS]`, a function ARN (with or without its alias) included.
fn target(text: &str) -> Result<(String, Option<String>), CliError> {
    let bad = |why: &str| CliError::Usage(format!("FUNCTION[:ALIAS] {text}: {why}"));
    let (function, alias) = if text.starts_with("arn:") {
        let parts: Vec<&str> = text.split(':').collect();
        match parts.len() {
            7 => (text.to_owned(), None),
            8 => (parts[..7].join(":"), Some(parts[7].to_owned())),
            _ => return Err(bad("not a Lambda function ARN")),
        }
    } else {
        match text.split_once(':') {
            Some((f, a)) => (f.to_owned(), Some(a.to_owned())),
            None => (text.to_owned(), None),
        }
    };
    if function.is_empty() || alias.as_deref() == Some("") {
        return Err(bad("name a function, and an alias after the colon"));
    }
    let function = shifter::domain::alias::function_short_name(&function).to_owned();
    Ok((function, alias))
}

impl Args {
    fn query(&self, now: DateTime<Utc>) -> Result<Query, CliError> {
        if let Some(arn) = &self.execution {
            let name = arn
                .strip_prefix("arn:")
                .filter(|_| arn.contains(":execution:"))
                .and_then(|rest| rest.rsplit(':').next())
                .filter(|n| !n.is_empty());
            let name = name.ok_or_else(|| {
                CliError::Usage(format!(
                    "--execution {arn}: not an execution ARN (arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME)"
                ))
            })?;
            return Ok(Query::Execution(name.to_owned()));
        }
        let since = self.since.as_deref().map(|s| since(s, now)).transpose()?;
        Ok(match self.target.as_deref().map(target).transpose()? {
            Some((function, Some(alias))) => Query::Alias {
                function,
                alias,
                since,
            },
            Some((function, None)) => Query::All {
                function: Some(function),
                since,
            },
            None => Query::All {
                function: None,
                since,
            },
        })
    }
}

/// Runs `shifter history`.
pub async fn run(args: &Args) -> Result<std::process::ExitCode, CliError> {
    let query = args.query(Utc::now())?;
    if args.table.is_none() && args.stack.is_none() {
        return Err(CliError::Usage(
            "give --table NAME or --stack NAME (the stack's DeploymentRecordsTableName output)"
                .into(),
        ));
    }
    if let Some(url) = &args.endpoint {
        crate::error::use_endpoint(url);
    }
    let config = shifter::aws::load_interactive_config(args.endpoint.as_deref()).await;
    let table = match (&args.table, &args.stack) {
        (Some(table), _) => table.clone(),
        (None, Some(stack)) => {
            let cloudformation = aws_sdk_cloudformation::Client::new(&config);
            crate::operate::stack_output(&cloudformation, stack, "DeploymentRecordsTableName")
                .await?
        }
        (None, None) => unreachable!("checked above"),
    };
    let records = shifter::aws::DynamoDbRecords::from_config(&config, table.clone(), 0);
    show(&records, &query, args.json, &table).await
}

/// Reads what `query` asks for and prints it.
async fn show(
    records: &dyn DeploymentRecords,
    query: &Query,
    json: bool,
    table: &str,
) -> Result<std::process::ExitCode, CliError> {
    let found = match query {
        Query::Execution(name) => {
            let record = records.find_record(name).await?.ok_or_else(|| {
                CliError::Usage(format!("--execution: no record of {name} in table {table}"))
            })?;
            if json {
                crate::output::print_json(&record)?;
            } else {
                for line in detail(&record) {
                    say!("{line}");
                }
            }
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Query::Alias {
            function,
            alias,
            since,
        } => records.records_of_alias(function, alias, *since).await?,
        Query::All { function, since } => {
            let mut all = records.all_records(*since).await?;
            all.retain(|r| function.as_ref().is_none_or(|f| &r.function == f));
            all
        }
    };
    if json {
        crate::output::print_json(&found)?;
    } else {
        for line in listing(&found) {
            say!("{line}");
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

fn took(r: &DeploymentRecord) -> String {
    r.duration().map_or_else(
        || "-".into(),
        |d| {
            let seconds = u64::try_from(d.num_seconds()).unwrap_or(0);
            humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
        },
    )
}

fn versions(r: &DeploymentRecord) -> String {
    let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
    format!("{} → {}", v(&r.from_version), v(&r.to_version))
}

fn outcome(r: &DeploymentRecord) -> &'static str {
    r.outcome.map_or("RUNNING", |s| s.name())
}

/// The table `shifter history` prints: one line per record, newest first.
fn listing(found: &[DeploymentRecord]) -> Vec<String> {
    if found.is_empty() {
        return vec!["No deployments recorded.".into()];
    }
    let rows: Vec<[String; 8]> = found
        .iter()
        .map(|r| {
            let cause = r.cause.as_ref().map_or(String::new(), |c| {
                cut_chars(&format!("{}: {}", c.kind, c.message), 60)
            });
            [
                when(r.started_at),
                format!("{}:{}", r.function, r.alias),
                versions(r),
                r.strategy.clone().unwrap_or_default(),
                outcome(r).to_owned(),
                took(r),
                r.started_by
                    .as_ref()
                    .map_or(String::new(), |b| cut_chars(&b.detail, 30)),
                cause,
            ]
        })
        .collect();
    let head = [
        "STARTED (UTC)",
        "FUNCTION:ALIAS",
        "FROM → TO",
        "STRATEGY",
        "OUTCOME",
        "DURATION",
        "BY",
        "CAUSE",
    ]
    .map(str::to_owned);
    let mut widths = head.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    std::iter::once(&head)
        .chain(&rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect()
}

/// One record in full: identity, who, when, outcome, then its timeline from the start.
fn detail(r: &DeploymentRecord) -> Vec<String> {
    let mut lines = vec![format!(
        "Deployment {} of {}:{}",
        r.deployment_id, r.function, r.alias
    )];
    let mut field = |name: &str, value: String| lines.push(format!("  {name:<12}{value}"));
    if let Some(arn) = &r.execution_arn {
        field("execution", arn.clone());
    }
    for m in &r.members {
        let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
        let moved = format!("{} → {}", v(&m.from_version), v(&m.to_version));
        field("member", format!("{}:{}  {moved}", m.function, m.alias));
    }
    field("versions", versions(r));
    field("strategy", r.strategy.clone().unwrap_or_else(|| "-".into()));
    if let Some(by) = &r.started_by {
        field("started by", by.detail.clone());
    }
    field("started", when(r.started_at));
    field("ended", format!("{}  ({})", when(r.ended_at), took(r)));
    field("outcome", outcome(r).to_owned());
    if let Some(c) = &r.cause {
        field("cause", format!("{} ({}): {}", c.kind, c.error, c.message));
    }
    if let Some(command) = &r.restore_command {
        field("restore", command.clone());
    }
    lines.push("Timeline:".into());
    let start = r.started_at.or(r.timeline.first().map(|m| m.at));
    for m in &r.timeline {
        let offset = start.map_or(0, |s| (m.at - s).num_seconds());
        let weight = m
            .weight
            .map_or(String::new(), |w| format!("  {w}% on the target"));
        let step = m.step.map_or(String::new(), |s| format!("  step {s}"));
        lines.push(format!(
            "  +{:<8} {}  {}{step}{weight}",
            format!("{offset}s"),
            m.at.format("%H:%M:%S"),
            m.status.name()
        ));
    }
    lines
}

#[cfg(test)]
mod tests;
