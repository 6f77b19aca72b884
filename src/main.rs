//! The `loket` command: `serve` (the default), `migrate`, `demo-data`, `backup`, `restore`,
//! `staff add`, `catalogue import|export`.

use clap::{Parser, Subcommand};
use loket::config::Settings;
use loket::domain::schedule::Role;

#[derive(Parser)]
#[command(
    name = "loket",
    version,
    about = "Loket: the virtual counter of a public service mall"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the pages and the signalling socket (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the MPP Kota Bogor demo data into an empty database and exit.
    DemoData,
    /// Write the whole database to a file (pg_dump custom format).
    Backup {
        /// Where to write (default: loket-<date>-<time>.dump in the current folder).
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
    /// Wipe personal data from appointments that ended more than LOKET_RETENTION_DAYS ago, now
    /// (a running Loket does this every hour).
    Retention,
    /// Replace the database with a backup (Loket must be stopped; the old copy is kept).
    Restore {
        /// A file written by `loket backup`.
        file: std::path::PathBuf,
    },
    /// Manage staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// The catalogue (agencies and services) as a CSV file: docs/catalogue.md.
    Catalogue {
        #[command(subcommand)]
        command: CatalogueCommand,
    },
}

#[derive(Subcommand)]
enum CatalogueCommand {
    /// Load a catalogue file: adds and changes agencies and services, deletes services missing
    /// from it (deactivates those ever booked). All or nothing.
    Import {
        file: std::path::PathBuf,
        /// Show what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the catalogue as a file (to stdout without FILE).
    Export { file: Option<std::path::PathBuf> },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create a staff account. The password is read from LOKET_NEW_PASSWORD or asked for on stdin.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// clerk, supervisor or admin
        #[arg(long, default_value = "clerk")]
        role: String,
        /// Agency slug (not for admins)
        #[arg(long)]
        agency: Option<String>,
        /// Service slugs, comma-separated (default: all of the agency's)
        #[arg(long, value_delimiter = ',')]
        services: Vec<String>,
    },
}

fn main() -> std::process::ExitCode {
    loket::telemetry::init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loket: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // actix needs its own system for the server; the other commands are plain async.
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(serve()),
        other => runtime.block_on(run(other)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loket: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn catalogue(url: &str, command: CatalogueCommand) -> anyhow::Result<()> {
    use loket::catalogue::{CatalogueError, import};
    let pool = loket::db::pool(url, 1)?;
    let mut conn = pool.get().await?;
    match command {
        CatalogueCommand::Import { file, dry_run } => {
            let max = loket::domain::catalogue::MAX_BYTES as u64;
            let size = std::fs::metadata(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
                .len();
            anyhow::ensure!(size <= max, "{}: larger than {max} bytes", file.display());
            let bytes = std::fs::read(&file)?;
            match import::import_as(&mut conn, "cli", &bytes, dry_run).await {
                Ok(report) => report.lines().iter().for_each(|l| println!("{l}")),
                Err(CatalogueError::Rows(problems)) => {
                    for p in &problems {
                        eprintln!(
                            "{}: row {}, {}: {}",
                            file.display(),
                            p.row,
                            p.column,
                            p.problem
                        );
                    }
                    anyhow::bail!("nothing imported: {} problem(s)", problems.len());
                }
                Err(e) => anyhow::bail!("nothing imported: {e}"),
            }
        }
        CatalogueCommand::Export { file } => {
            let text = import::export_from(&mut conn)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match file {
                Some(path) => {
                    std::fs::write(&path, text)?;
                    eprintln!("catalogue written to {}", path.display());
                }
                None => print!("{text}"),
            }
        }
    }
    Ok(())
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let app = loket::startup::Application::build(settings).await?;
    let url = app.state.settings.public_url.clone();
    println!("  Loket is running.");
    println!("    Citizens: {url}/");
    println!("    Staff:    {url}/staff");
    println!("    API:      {url}/api/v1/openapi.json");
    if loket::demo::call::enabled(&app.state.settings) {
        match loket::demo::call::ready(&app.state.ctx, chrono::Utc::now()).await {
            Ok(call) => call.print(&app.state.settings),
            Err(e) => tracing::warn!(error = %e, "no demo call could be prepared"),
        }
    }
    println!("  Stop with Ctrl-C.");
    tracing::info!(port = app.port(), "listening");
    app.run_until_stopped().await
}

async fn run(command: Command) -> anyhow::Result<()> {
    let mut settings = Settings::from_env()?;
    let (url, cluster) = loket::startup::database(&settings).await?;
    loket::db::migrate(&url).await?;
    let result = async {
        match command {
            Command::Serve | Command::Migrate => {
                println!("migrations applied");
            }
            Command::Backup { output } => {
                let file = output.unwrap_or_else(|| {
                    format!("loket-{}.dump", chrono::Utc::now().format("%Y%m%d-%H%M%S")).into()
                });
                let bin = loket::db::embedded::find_bin_dir().unwrap_or_default();
                loket::db::backup::dump(&bin, &url, &file)?;
                println!("backup written to {}", file.display());
            }
            Command::Retention => {
                let days = settings.retention_days;
                anyhow::ensure!(days > 0, "LOKET_RETENTION_DAYS is 0: retention is off");
                let pool = loket::db::pool(&url, 2)?;
                let secret = settings.load_or_create_secret()?;
                let keys = loket::auth::Keys::derive(&secret);
                let ctx = loket::context::Ctx::new(settings.clone(), pool, keys);
                let n = loket::privacy::erase_expired(&ctx, days, chrono::Utc::now()).await?;
                println!("personal data erased from {n} appointment(s) older than {days} days");
            }
            Command::Restore { file } => {
                let bin = loket::db::embedded::find_bin_dir().unwrap_or_default();
                let kept = loket::db::backup::restore(&bin, &url, &file).await?;
                // A backup from an older Loket gets the migrations it lacks.
                loket::db::migrate(&url).await?;
                println!(
                    "restored {}; the previous database is kept as {kept}",
                    file.display()
                );
                println!("(drop it when no longer needed: DROP DATABASE {kept};)");
            }
            Command::DemoData => {
                let pool = loket::db::pool(&url, 2)?;
                let mut conn = pool.get().await?;
                settings.demo_data = true;
                match loket::demo::load_once(&mut conn, &settings).await? {
                    Some(report) => report.print(&settings),
                    None => println!("demo data already present; nothing loaded"),
                }
            }
            Command::Catalogue { command } => catalogue(&url, command).await?,
            Command::Staff {
                command:
                    StaffCommand::Add {
                        email,
                        name,
                        role,
                        agency,
                        services,
                    },
            } => {
                let role = Role::parse(&role)
                    .ok_or_else(|| anyhow::anyhow!("--role must be clerk, supervisor or admin"))?;
                let password = match std::env::var("LOKET_NEW_PASSWORD") {
                    Ok(p) => p,
                    Err(_) => {
                        eprint!("password (at least 10 characters): ");
                        let mut line = String::new();
                        std::io::stdin().read_line(&mut line)?;
                        line.trim_end_matches(['\r', '\n']).to_string()
                    }
                };
                let pool = loket::db::pool(&url, 2)?;
                let mut conn = pool.get().await?;
                let input = loket::accounts::StaffInput {
                    email,
                    name,
                    role,
                    agency,
                    services,
                    password,
                };
                let staff = loket::accounts::create_staff(&mut conn, &input, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}: {e:?}"))?;
                println!("created {} ({})", staff.email, staff.role);
            }
        }
        Ok::<(), anyhow::Error>(())
    }
    .await;
    if let Some(mut c) = cluster {
        tokio::task::spawn_blocking(move || c.stop()).await??;
    }
    result
}
