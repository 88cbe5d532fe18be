//! `kubeladder versions`: the shipped release data with support status on a date.

use jiff::civil::Date;
use kubeladder_core::release::{Release, ReleaseData};
use serde::Serialize;

use crate::Outcome;
use crate::args::VersionsArgs;
use crate::error::CliError;
use crate::output;

#[derive(Debug, Serialize)]
struct Row<'a> {
    minor: String,
    latest_patch: String,
    released: Date,
    end_of_life: Date,
    supported: bool,
    etcd: &'a str,
    coredns: &'a str,
    pause: &'a str,
    repositories: Vec<String>,
    removed_apis: Vec<String>,
}

impl<'a> Row<'a> {
    fn new(release: &'a Release, date: Date) -> Self {
        Self {
            minor: release.minor.to_string(),
            latest_patch: release.latest_patch.to_string(),
            released: release.released,
            end_of_life: release.end_of_life,
            supported: release.supported_on(date),
            etcd: &release.etcd,
            coredns: &release.coredns,
            pause: &release.pause,
            repositories: release.repositories.iter().map(ToString::to_string).collect(),
            removed_apis: release.removed_apis.iter().map(|a| format!("{} {}", a.group_version, a.kind)).collect(),
        }
    }
}

pub fn run(args: &VersionsArgs) -> Result<Outcome, CliError> {
    let data = ReleaseData::embedded()?;
    let date = args.date.unwrap_or_else(today);
    let rows: Vec<Row<'_>> = data.releases().iter().map(|r| Row::new(r, date)).collect();
    output::emit(args.output, &rows, || render(data, date))?;
    Ok(Outcome::Ok)
}

pub fn today() -> Date {
    jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

pub fn render(data: &ReleaseData, date: Date) -> String {
    let supported: Vec<String> =
        data.releases().iter().filter(|r| r.supported_on(date)).map(|r| r.minor.to_string()).collect();
    let mut out = format!(
        "Kubernetes {} as known to this kubeladder, on {date}: supported {}.\n\n",
        data.known_range(),
        output::join(&supported)
    );
    if data.probably_stale_on(date) {
        out += &format!(
            "Note: {} was released {}; newer minors have most likely shipped since. Upgrade kubeladder for their data.\n\n",
            data.newest().minor,
            data.newest().released
        );
    }
    out += &output::table(
        &["MINOR", "LATEST", "RELEASED", "END OF LIFE", "STATUS", "ETCD", "COREDNS", "PAUSE", "PACKAGES"],
        data.releases().iter().map(|r| {
            let row = Row::new(r, date);
            let status = if row.supported {
                "supported"
            } else if date < r.released {
                "not released"
            } else {
                "end of life"
            };
            vec![
                row.minor,
                row.latest_patch,
                r.released.to_string(),
                r.end_of_life.to_string(),
                status.to_owned(),
                r.etcd.clone(),
                r.coredns.clone(),
                r.pause.clone(),
                row.repositories.join(", "),
            ]
        }),
    );
    out
}
