#![allow(clippy::unwrap_used, clippy::expect_used)]
//! SSH transport details against real sshd: jump hosts, the ssh-agent.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kubeladder_node::{Executor, NodeError, SshExecutor, SshOptions};
use support::SshHost;

const T: Duration = Duration::from_secs(30);

fn argv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn known_hosts_line(host: &SshHost) -> String {
    let fields: Vec<&str> = host.host_public_key.split_whitespace().collect();
    format!("[{}]:{} {} {}\n", host.address, host.port, fields[0], fields[1])
}

#[tokio::test]
async fn commands_reach_a_host_through_a_jump_host() {
    let tmp = tempfile::tempdir().unwrap();
    let bastion = SshHost::start("bastion", "127.0.0.2", &tmp.path().join("bastion"));
    let target = SshHost::start("w-1", "127.0.0.3", &tmp.path().join("w-1"));
    // One identity and one known_hosts for both hops, as with OpenSSH's ProxyJump.
    std::fs::copy(bastion.dir.join("client_key.pub"), target.dir.join("authorized_keys")).unwrap();
    let known_hosts = tmp.path().join("known_hosts");
    std::fs::write(&known_hosts, known_hosts_line(&bastion) + &known_hosts_line(&target)).unwrap();
    std::fs::write(target.dir.join("kubernetes/marker"), "w-1\n").unwrap();

    let mut host = target.host();
    host.identity_file = Some(bastion.client_key.clone());
    host.known_hosts = Some(known_hosts.clone());
    host.jump_host = Some(format!("root@{}:{}", bastion.address, bastion.port).parse().unwrap());
    let exec = SshExecutor::new(host.clone(), SshOptions::default());
    let out = exec.run(&argv(&["cat", "/etc/kubernetes/marker"]), T).await.unwrap();
    assert_eq!(out.stdout, "w-1\n");
    // The jump host is really on the way: its key is verified too (on loopback both
    // paths show 127.0.0.1 as the client address, so that is no proof).
    std::fs::write(&known_hosts, known_hosts_line(&target)).unwrap();
    let e = SshExecutor::new(host, SshOptions::default()).run(&argv(&["true"]), T).await.unwrap_err();
    assert!(matches!(e, NodeError::UnknownHostKey { .. }), "{e}");
    assert!(e.to_string().contains("jump host"), "{e}");
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn authenticates_with_the_ssh_agent() {
    support::require("ssh-agent", "openssh-client");
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let socket = tmp.path().join("agent.sock");
    let _agent =
        Agent(Command::new("ssh-agent").arg("-D").arg("-a").arg(&socket).stdout(Stdio::null()).spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not create {}", socket.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    support::run(Command::new("ssh-add").arg("-q").arg(&host.client_key).env("SSH_AUTH_SOCK", &socket));

    let mut h = host.host();
    h.identity_file = None;
    let options = SshOptions { agent_socket: Some(socket.clone()), default_identity: None, ..SshOptions::default() };
    let out = SshExecutor::new(h.clone(), options).run(&argv(&["echo", "agent"]), T).await.unwrap();
    assert_eq!(out.stdout, "agent\n");

    // An agent without the authorized key: a clear authentication failure.
    support::run(Command::new("ssh-add").arg("-D").arg("-q").env("SSH_AUTH_SOCK", &socket));
    let options = SshOptions { agent_socket: Some(socket), default_identity: None, ..SshOptions::default() };
    let e = SshExecutor::new(h, options).run(&argv(&["true"]), T).await.unwrap_err();
    assert!(matches!(e, NodeError::Auth { .. }), "{e}");
    assert!(e.to_string().contains("none of the ssh-agent's keys"), "{e}");
}

#[tokio::test]
async fn non_root_users_run_commands_through_sudo_n() {
    support::require("sudo", "sudo");
    let tmp = tempfile::tempdir().unwrap();
    let host =
        SshHost::start_with_users("cp-1", "127.0.0.2", &tmp.path().join("cp-1"), &[("kube", true), ("guest", false)]);
    let mut h = host.host();
    h.user = "kube".into();
    let exec = SshExecutor::new(h.clone(), SshOptions::default());
    let out = exec.run(&argv(&["id", "-u"]), T).await.unwrap();
    assert_eq!((out.exit_code, out.stdout.as_str()), (0, "0\n"), "{out:?}");
    // A timed-out command under sudo is killed too (as root, through sudo). The duration is
    // unique to this process, so leftovers of other runs do not count.
    let seconds = format!("19.{:03}", std::process::id() % 1000);
    let e = exec.run(&argv(&["sleep", &seconds]), Duration::from_millis(500)).await.unwrap_err();
    assert!(matches!(e, NodeError::CommandTimeout { .. }), "{e}");
    assert!(e.to_string().contains(&format!("sudo -n -- sleep {seconds}")), "{e}");
    let deadline = Instant::now() + Duration::from_secs(3);
    let pattern = format!("^sleep {seconds}$");
    while exec.run(&argv(&["pgrep", "-f", &pattern]), T).await.unwrap().exit_code == 0 {
        assert!(Instant::now() < deadline, "sleep {seconds} survived its timeout");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A user sudo would ask for a password: refused at once, never prompting.
    h.user = "guest".into();
    let exec = SshExecutor::new(h, SshOptions::default());
    let out = exec.run(&argv(&["id", "-u"]), T).await.unwrap();
    assert_eq!(out.exit_code, 1, "{out:?}");
    assert!(out.stderr.contains("a password is required"), "{out:?}");
}

#[tokio::test]
async fn commands_run_in_the_c_locale_with_stdin_at_eof_as_root_and_through_sudo() {
    support::require("sudo", "sudo");
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start_with_users("cp-1", "127.0.0.2", &tmp.path().join("cp-1"), &[("kube", true)]);
    for user in ["root", "kube"] {
        let mut h = host.host();
        h.user = user.into();
        let exec = SshExecutor::new(h, SshOptions::default());
        // `cat` reads standard input: at EOF it returns at once; on an open channel it
        // would wait out the timeout (a dpkg conffile prompt does the same).
        let started = Instant::now();
        let out = exec.run(&argv(&["sh", "-c", "echo \"$LC_ALL\"; cat; echo read-eof"]), T).await.unwrap();
        assert_eq!((out.exit_code, out.stdout.as_str()), (0, "C\nread-eof\n"), "{user}: {out:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "{user}: waited on stdin");
    }
}

#[tokio::test]
async fn tool_paths_reach_a_program_outside_sudos_secure_path() {
    support::require("sudo", "sudo");
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start_with_users("cp-1", "127.0.0.2", &tmp.path().join("cp-1"), &[("kube", true)]);
    // A tool in a directory on no PATH, as /usr/local/bin is not on RHEL's sudo secure_path.
    let tool = host.dir.join("kubernetes/bin/standin-kubeadm");
    std::fs::create_dir_all(tool.parent().unwrap()).unwrap();
    std::fs::write(&tool, "#!/bin/sh\necho \"standin $*\"\n").unwrap();
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut h = host.host();
    h.user = "kube".into();
    let bare = kubeladder_node::exec::executor_for(&h, &SshOptions::default(), None).unwrap();
    let out = bare.run(&argv(&["standin-kubeadm", "version"]), T).await.unwrap();
    assert_ne!(out.exit_code, 0, "{out:?}");
    h.tool_paths.insert("standin-kubeadm".to_owned(), "/etc/kubernetes/bin/standin-kubeadm".to_owned());
    let mapped = kubeladder_node::exec::executor_for(&h, &SshOptions::default(), None).unwrap();
    let out = mapped.run(&argv(&["standin-kubeadm", "version"]), T).await.unwrap();
    assert_eq!((out.exit_code, out.stdout.as_str()), (0, "standin version\n"), "{out:?}");
}
