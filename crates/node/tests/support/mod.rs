//! Test support: real sshd "hosts" on 127.0.0.x, each in its own mount namespace over
//! its own apt/dpkg state, `/etc/kubernetes`, `/usr/local/bin` and `/var/log`, and real
//! local apt repositories of stand-in kubeadm/kubelet/kubectl packages.
//!
//! Every tool is required: a missing one fails the test with the Debian package to install.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod apt_scenarios;
pub mod etcd;

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kubeladder_core::Minor;
use kubeladder_core::package::Repository;
use kubeladder_node::hosts::{Host, Transport};
use kubeladder_node::ops::RepoSource;

/// Fail with the package to install when `tool` is missing.
pub fn require(tool: &str, package: &str) {
    let found = if tool.starts_with('/') {
        Path::new(tool).exists()
    } else {
        Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success())
    };
    assert!(found, "{tool} is missing: install the Debian package `{package}` (listed in scripts/test-packages.txt)");
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A port on `address` that nothing listens on right now.
pub fn free_port(address: &str) -> u16 {
    TcpListener::bind((address, 0)).unwrap().local_addr().unwrap().port()
}

/// The stand-in program: records its argv and prints its version.
fn standin_script(name: &str, version: &str) -> String {
    format!(
        "#!/bin/sh\necho \"{name} $*\" >> /etc/kubernetes/calls.log\ncase \"$1\" in\n  version|--version) echo \"{name} version v{version}\" ;;\nesac\nexit 0\n"
    )
}

/// The conffile the stand-in kubeadm packages ship.
pub const KUBEADM_DROPIN: &str = "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf";

fn build_deb(out_dir: &Path, work: &Path, name: &str, version: &str) {
    let upstream = version.split('-').next().unwrap();
    let root = work.join(format!("{name}_{version}"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/local/bin")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: kubeladder tests <tests@kubeladder.invalid>\nDescription: stand-in {name} {upstream} for kubeladder's tests\n"
        ),
    )
    .unwrap();
    if name == "kubeadm" {
        // The kubelet drop-in the legacy kubeadm package ships as a conffile
        // (/etc/systemd/system/kubelet.service.d/10-kubeadm.conf), different per version.
        let dropin = root.join(KUBEADM_DROPIN.trim_start_matches('/'));
        std::fs::create_dir_all(dropin.parent().unwrap()).unwrap();
        std::fs::write(&dropin, format!("# 10-kubeadm.conf of kubeadm {version}\n")).unwrap();
        std::fs::write(root.join("DEBIAN/conffiles"), format!("{KUBEADM_DROPIN}\n")).unwrap();
    }
    let bin = root.join("usr/local/bin").join(name);
    std::fs::write(&bin, standin_script(name, upstream)).unwrap();
    run(Command::new("chmod").arg("755").arg(&bin));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "--build"])
        .arg(&root)
        .arg(out_dir.join(format!("{name}_{version}_all.deb"))));
}

/// A trusted flat apt repository under `base`: `base/legacy` (the legacy repository, up to
/// 1.27) or `base/v1.NN` (one per minor from 1.28, like pkgs.k8s.io).
pub fn apt_mirror_source(base: &str, minor: Minor) -> RepoSource {
    let (dir, repository) = if minor < Minor::new(1, 28) {
        ("legacy".to_owned(), Repository::Legacy)
    } else {
        (format!("v{minor}"), Repository::PkgsK8sIo)
    };
    RepoSource { minor, repository, url: format!("{base}/{dir}"), suite: "./".to_owned(), key_url: None }
}

/// Local apt repositories: the legacy one (every minor) and one per minor, like pkgs.k8s.io.
#[derive(Debug)]
pub struct Repos {
    pub root: PathBuf,
}

pub const LEGACY_VERSIONS: [&str; 2] = ["1.18.20-00", "1.19.16-00"];
pub const V128_VERSIONS: [&str; 1] = ["1.28.15-1.1"];
pub const V129_VERSIONS: [&str; 2] = ["1.29.0-1.1", "1.29.10-1.1"];

impl Repos {
    pub fn build(root: &Path) -> Self {
        require("dpkg-deb", "dpkg");
        require("dpkg-scanpackages", "dpkg-dev");
        let work = root.join("build");
        for (dir, versions) in
            [("legacy", &LEGACY_VERSIONS[..]), ("v1.28", &V128_VERSIONS[..]), ("v1.29", &V129_VERSIONS[..])]
        {
            let out = root.join(dir);
            std::fs::create_dir_all(&out).unwrap();
            for version in versions {
                for name in ["kubeadm", "kubelet", "kubectl"] {
                    build_deb(&out, &work, name, version);
                }
            }
            let index = run(Command::new("dpkg-scanpackages")
                .args(["--multiversion", "."])
                .current_dir(&out)
                .stderr(Stdio::null()));
            std::fs::write(out.join("Packages"), index).unwrap();
        }
        Self { root: root.to_owned() }
    }

    /// A trusted flat repository definition for `minor`.
    pub fn source(&self, minor: Minor) -> RepoSource {
        apt_mirror_source(&format!("file:{}", self.root.display()), minor)
    }
}

fn keygen(path: &Path) {
    require("ssh-keygen", "openssh-client");
    run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", "kubeladder-test", "-f"]).arg(path));
}

/// A real sshd on `address`, in its own mount namespace. Killed on drop.
#[derive(Debug)]
pub struct SshHost {
    pub node: String,
    pub address: String,
    pub port: u16,
    /// Where this host's private state lives: `kubernetes/` is its `/etc/kubernetes`.
    pub dir: PathBuf,
    pub client_key: PathBuf,
    pub known_hosts: PathBuf,
    pub host_public_key: String,
    child: Child,
}

const BINDS: [(&str, &str); 7] = [
    ("etc-apt", "/etc/apt"),
    ("var-lib-dpkg", "/var/lib/dpkg"),
    ("var-lib-apt", "/var/lib/apt"),
    ("var-cache-apt", "/var/cache/apt"),
    ("var-log", "/var/log"),
    ("kubernetes", "/etc/kubernetes"),
    ("usr-local-bin", "/usr/local/bin"),
];

impl SshHost {
    /// Start sshd for `node` on `address` (127.0.0.x) with a private filesystem view.
    pub fn start(node: &str, address: &str, dir: &Path) -> Self {
        Self::start_with_users(node, address, dir, &[])
    }

    /// Like [`SshHost::start`], with extra users `(name, may sudo without password)`
    /// that exist only inside the host's namespace (its `/etc` is an overlay).
    pub fn start_with_users(node: &str, address: &str, dir: &Path, users: &[(&str, bool)]) -> Self {
        require("/usr/sbin/sshd", "openssh-server");
        require("unshare", "util-linux");
        let uid = run(Command::new("id").arg("-u"));
        assert_eq!(uid.trim(), "0", "the sshd hosts need root (mount namespaces, bind mounts, sshd)");
        std::fs::create_dir_all(dir).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        // Private state: a copy of the machine's apt configuration (without its sources),
        // empty everything else.
        for (name, _) in BINDS {
            std::fs::create_dir_all(dir.join(name)).unwrap();
        }
        run(Command::new("cp").arg("-a").arg("/etc/apt/.").arg(dir.join("etc-apt")));
        // An empty dpkg database: the machine's own (which may hold a `kubectl` package)
        // must not leak into the host, and purging anything would touch real files.
        for sub in ["info", "updates", "triggers", "alternatives", "parts"] {
            std::fs::create_dir_all(dir.join("var-lib-dpkg").join(sub)).unwrap();
        }
        std::fs::write(dir.join("var-lib-dpkg/status"), "").unwrap();
        std::fs::write(dir.join("var-lib-dpkg/available"), "").unwrap();
        let _ = std::fs::remove_file(dir.join("etc-apt/sources.list"));
        for entry in std::fs::read_dir(dir.join("etc-apt/sources.list.d")).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        std::fs::create_dir_all(dir.join("var-lib-apt/lists/partial")).unwrap();
        std::fs::create_dir_all(dir.join("var-cache-apt/archives/partial")).unwrap();
        std::fs::create_dir_all(dir.join("var-log/apt")).unwrap();
        // A systemctl that records its calls (no systemd in the namespace).
        let systemctl = dir.join("usr-local-bin/systemctl");
        std::fs::write(&systemctl, "#!/bin/sh\necho \"systemctl $*\" >> /etc/kubernetes/calls.log\nexit 0\n").unwrap();
        run(Command::new("chmod").arg("755").arg(&systemctl));

        let host_key = dir.join("ssh_host_ed25519_key");
        keygen(&host_key);
        let client_key = dir.join("client_key");
        keygen(&client_key);
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        let host_public_key = std::fs::read_to_string(dir.join("ssh_host_ed25519_key.pub")).unwrap();
        let port = free_port(address);
        let known_hosts = dir.join("known_hosts");
        let mut key_fields = host_public_key.split_whitespace();
        let (kind, key) = (key_fields.next().unwrap(), key_fields.next().unwrap());
        std::fs::write(&known_hosts, format!("[{address}]:{port} {kind} {key}\n")).unwrap();

        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress {address}\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPrintMotd no\nPrintLastLog no\nLogLevel ERROR\nMaxSessions 20\nMaxStartups 50\n",
                host_key.display(),
                dir.join("authorized_keys").display(),
                dir.join("sshd.pid").display(),
            ),
        )
        .unwrap();
        // /etc/kubernetes may not exist on this machine: an overlay over /etc makes the
        // mount point inside the namespace only.
        std::fs::create_dir_all(dir.join("etc-upper")).unwrap();
        std::fs::create_dir_all(dir.join("etc-work")).unwrap();
        let mut script = format!(
            "set -e\nmount -t overlay overlay -o lowerdir=/etc,upperdir='{}',workdir='{}' /etc\nmkdir -p /etc/kubernetes\n",
            dir.join("etc-upper").display(),
            dir.join("etc-work").display()
        );
        for (name, target) in BINDS {
            let _ = writeln!(script, "mount --bind '{}' '{target}'", dir.join(name).display());
        }
        for (user, sudo) in users {
            // `*`, not useradd's locked `!`: sshd without PAM refuses locked accounts.
            let _ = writeln!(script, "useradd -M -p '*' -s /bin/sh {user}");
            if *sudo {
                let _ = writeln!(
                    script,
                    "echo '{user} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/{user}; chmod 440 /etc/sudoers.d/{user}"
                );
            }
        }
        let _ = writeln!(script, "exec /usr/sbin/sshd -D -e -f '{}'", config.display());
        let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut host = Self {
            node: node.to_owned(),
            address: address.to_owned(),
            port,
            dir: dir.to_owned(),
            client_key,
            known_hosts,
            host_public_key,
            child,
        };
        host.wait_listening();
        host
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "sshd exited ({status}): {}",
                    std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
                );
            }
            if std::net::TcpStream::connect((self.address.as_str(), self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sshd on {}:{} did not listen within 10 s", self.address, self.port);
    }

    /// How kubeladder reaches this host.
    pub fn host(&self) -> Host {
        Host {
            node: self.node.clone(),
            address: self.address.clone(),
            port: self.port,
            user: "root".to_owned(),
            identity_file: Some(self.client_key.clone()),
            known_hosts: Some(self.known_hosts.clone()),
            sudo: false,
            transport: Transport::Ssh,
            jump_host: None,
            package_manager: None,
            sim: None,
            package_sources: kubeladder_node::sources::PackageSources::default(),
            tool_paths: std::collections::BTreeMap::new(),
        }
    }

    /// The stand-ins' and systemctl's recorded calls.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("kubernetes/calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for SshHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Local yum/dnf repositories (`createrepo_c`) of stand-in rpm packages.
#[derive(Debug)]
pub struct RpmRepos {
    pub root: PathBuf,
}

pub const RPM_LEGACY_VERSIONS: [&str; 2] = ["1.18.20-0", "1.19.16-0"];
pub const RPM_V129_VERSIONS: [&str; 1] = ["1.29.10-150500.1.1"];

impl RpmRepos {
    pub fn build(root: &Path) -> Self {
        require("rpmbuild", "rpm");
        require("createrepo_c", "createrepo-c");
        let top = root.join("rpmbuild");
        for (dir, versions) in [("legacy", &RPM_LEGACY_VERSIONS[..]), ("v1.29", &RPM_V129_VERSIONS[..])] {
            let out = root.join(dir);
            std::fs::create_dir_all(&out).unwrap();
            for full in versions {
                let (version, release) = full.split_once('-').unwrap();
                for name in ["kubeadm", "kubelet", "kubectl"] {
                    let spec = root.join(format!("{name}-{full}.spec"));
                    let script = standin_script(name, version).replace('\n', "\\n").replace('"', "\\\"");
                    std::fs::write(
                        &spec,
                        format!(
                            "Name: {name}\nVersion: {version}\nRelease: {release}\nSummary: stand-in {name}\nLicense: Apache-2.0\nBuildArch: noarch\nAutoReqProv: no\n%description\nstand-in {name} for kubeladder's tests\n%install\nmkdir -p %{{buildroot}}/usr/local/bin\nprintf \"{script}\" > %{{buildroot}}/usr/local/bin/{name}\nchmod 755 %{{buildroot}}/usr/local/bin/{name}\n%files\n/usr/local/bin/{name}\n"
                        ),
                    )
                    .unwrap();
                    run(Command::new("rpmbuild")
                        .args(["--quiet", "-bb", "--define"])
                        .arg(format!("_topdir {}", top.display()))
                        .arg("--define")
                        .arg(format!("_rpmdir {}", out.display()))
                        .arg(&spec));
                }
            }
            run(Command::new("createrepo_c").arg("-q").arg(&out));
        }
        Self { root: root.to_owned() }
    }

    /// An unsigned repository definition for `minor`.
    pub fn source(&self, minor: Minor) -> RepoSource {
        let (dir, repository) = if minor < Minor::new(1, 28) {
            ("legacy".to_owned(), Repository::Legacy)
        } else {
            (format!("v{minor}"), Repository::PkgsK8sIo)
        };
        RepoSource {
            minor,
            repository,
            url: format!("file://{}", self.root.join(dir).display()),
            suite: String::new(),
            key_url: None,
        }
    }
}
