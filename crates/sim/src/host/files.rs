//! A simulated host's file system: absolute paths to file contents, with directories.
//!
//! Contents are `Arc<str>`, so the thousands of hosts of a large scenario share one copy of
//! each identical file (kubelet config, sources list). A directory exists when it was made
//! explicitly or when anything lies below it; removing or moving the last entry out of a
//! directory leaves the directory in place, as on a real file system.

use std::collections::BTreeMap;
use std::sync::Arc;

/// One file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileData {
    pub content: Arc<str>,
    /// Permission bits (`0o644`).
    pub mode: u32,
    /// Simulated seconds since the clock started, at the last write (negative: before start).
    pub modified: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Entry {
    File(FileData),
    Dir,
}

/// Why a file operation failed, worded as coreutils words it (`No such file or directory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsError {
    NotFound,
    IsDirectory,
    NotDirectory,
    Exists,
}

impl FsError {
    pub fn text(self) -> &'static str {
        match self {
            Self::NotFound => "No such file or directory",
            Self::IsDirectory => "Is a directory",
            Self::NotDirectory => "Not a directory",
            Self::Exists => "File exists",
        }
    }
}

/// Normalize a path: absolute (relative paths are taken from `/root`), no `.`, `..`,
/// repeated or trailing slashes. `/` stays `/`.
pub fn normalize(path: &str) -> String {
    let joined = if path.starts_with('/') { path.to_owned() } else { format!("/root/{path}") };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() { "/".to_owned() } else { format!("/{}", parts.join("/")) }
}

/// The directory holding `path` (`/` for top-level entries).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of `path`.
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn child_prefix(dir: &str) -> String {
    if dir == "/" { "/".to_owned() } else { format!("{dir}/") }
}

/// A host's files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Files {
    entries: BTreeMap<String, Entry>,
}

impl Files {
    /// Entries strictly below `dir` (normalized), in order.
    fn below<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a String, &'a Entry)> + 'a {
        let prefix = child_prefix(dir);
        self.entries.range(prefix.clone()..).take_while(move |(k, _)| k.starts_with(&prefix))
    }

    /// Whether `path` is a directory (explicit, implied by an entry below it, or `/`).
    pub fn is_dir(&self, path: &str) -> bool {
        let path = normalize(path);
        path == "/" || matches!(self.entries.get(&path), Some(Entry::Dir)) || self.below(&path).next().is_some()
    }

    pub fn is_file(&self, path: &str) -> bool {
        matches!(self.entries.get(&normalize(path)), Some(Entry::File(_)))
    }

    pub fn exists(&self, path: &str) -> bool {
        self.is_file(path) || self.is_dir(path)
    }

    /// The file at `path`.
    pub fn read(&self, path: &str) -> Result<&FileData, FsError> {
        let path = normalize(path);
        match self.entries.get(&path) {
            Some(Entry::File(data)) => Ok(data),
            _ if self.is_dir(&path) => Err(FsError::IsDirectory),
            _ => Err(FsError::NotFound),
        }
    }

    /// The text of the file at `path`, if it is one.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.read(path).ok().map(|f| &*f.content)
    }

    /// Write a file; its directory must exist (use [`Files::write_all`] to make it).
    pub fn write(&mut self, path: &str, content: Arc<str>, mode: u32, now: f64) -> Result<(), FsError> {
        let path = normalize(path);
        if self.is_dir(&path) {
            return Err(FsError::IsDirectory);
        }
        let dir = parent(&path);
        if !self.is_dir(dir) {
            return Err(if self.is_file(dir) { FsError::NotDirectory } else { FsError::NotFound });
        }
        self.entries.insert(path, Entry::File(FileData { content, mode, modified: now }));
        Ok(())
    }

    /// Write a file, making its directories first (`mkdir -p` then write).
    pub fn write_all(&mut self, path: &str, content: Arc<str>, mode: u32, now: f64) -> Result<(), FsError> {
        let path = normalize(path);
        self.mkdir_p(parent(&path))?;
        self.write(&path, content, mode, now)
    }

    /// `mkdir -p`: every missing component; a file in the way is an error.
    pub fn mkdir_p(&mut self, path: &str) -> Result<(), FsError> {
        let path = normalize(path);
        let mut current = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            current.push('/');
            current.push_str(part);
            if self.is_file(&current) {
                return Err(if current == path { FsError::Exists } else { FsError::NotDirectory });
            }
        }
        if !self.is_dir(&path) {
            self.entries.insert(path, Entry::Dir);
        }
        Ok(())
    }

    /// `mkdir` without `-p`: the parent must exist and the path must not.
    pub fn mkdir(&mut self, path: &str) -> Result<(), FsError> {
        let path = normalize(path);
        if self.exists(&path) {
            return Err(FsError::Exists);
        }
        if !self.is_dir(parent(&path)) {
            return Err(FsError::NotFound);
        }
        self.entries.insert(path, Entry::Dir);
        Ok(())
    }

    /// Names directly inside `dir`, sorted.
    pub fn list(&self, dir: &str) -> Result<Vec<String>, FsError> {
        let dir = normalize(dir);
        if self.is_file(&dir) {
            return Err(FsError::NotDirectory);
        }
        if !self.is_dir(&dir) {
            return Err(FsError::NotFound);
        }
        let prefix_len = child_prefix(&dir).len();
        let names: std::collections::BTreeSet<&str> =
            self.below(&dir).map(|(key, _)| key[prefix_len..].split('/').next().unwrap_or_default()).collect();
        Ok(names.into_iter().map(str::to_owned).collect())
    }

    /// Files (not directories) at or below `path`, as (path, data).
    pub fn files_under(&self, path: &str) -> Vec<(String, FileData)> {
        let path = normalize(path);
        let mut out = Vec::new();
        if let Some(Entry::File(data)) = self.entries.get(&path) {
            out.push((path.clone(), data.clone()));
        }
        out.extend(self.below(&path).filter_map(|(k, e)| match e {
            Entry::File(data) => Some((k.clone(), data.clone())),
            Entry::Dir => None,
        }));
        out
    }

    /// Every file path, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.entries.iter().filter(|(_, e)| matches!(e, Entry::File(_))).map(|(k, _)| k.clone()).collect()
    }

    /// Remove `path` (with everything below it when `recursive`). Its directory stays.
    pub fn remove(&mut self, path: &str, recursive: bool) -> Result<(), FsError> {
        let path = normalize(path);
        if path == "/" {
            return Err(FsError::IsDirectory);
        }
        if self.is_dir(&path) {
            if !recursive {
                return Err(FsError::IsDirectory);
            }
            let doomed: Vec<String> = self.below(&path).map(|(k, _)| k.clone()).collect();
            for key in doomed {
                self.entries.remove(&key);
            }
        } else if !self.is_file(&path) {
            return Err(FsError::NotFound);
        }
        self.entries.remove(&path);
        self.keep_dir(parent(&path));
        Ok(())
    }

    /// Make `dir` explicit so that it outlives its last entry.
    fn keep_dir(&mut self, dir: &str) {
        if dir != "/" && !self.entries.contains_key(dir) {
            self.entries.insert(dir.to_owned(), Entry::Dir);
        }
    }

    /// Copy `src` (a file, or a directory with everything below it) to `dst`, which must
    /// not be inside `src`. The destination's directory must exist. `now` stamps files
    /// unless `preserve` (`cp -a`) keeps their times.
    pub fn copy(&mut self, src: &str, dst: &str, preserve: bool, now: f64) -> Result<(), FsError> {
        let src = normalize(src);
        let dst = normalize(dst);
        if !self.exists(&src) {
            return Err(FsError::NotFound);
        }
        if !self.is_dir(parent(&dst)) {
            return Err(FsError::NotFound);
        }
        if self.is_dir(&src) {
            if self.is_file(&dst) {
                return Err(FsError::NotDirectory);
            }
            if dst == src || dst.starts_with(&child_prefix(&src)) {
                return Err(FsError::Exists);
            }
            self.mkdir_p(&dst)?;
            let prefix_len = src.len();
            let items: Vec<(String, Entry)> = self.below(&src).map(|(k, e)| (k.clone(), e.clone())).collect();
            for (key, entry) in items {
                let target = format!("{dst}{}", &key[prefix_len..]);
                let entry = match entry {
                    Entry::File(mut data) => {
                        if !preserve {
                            data.modified = now;
                        }
                        if self.is_dir(&target) {
                            return Err(FsError::IsDirectory);
                        }
                        Entry::File(data)
                    }
                    Entry::Dir => Entry::Dir,
                };
                self.entries.insert(target, entry);
            }
            return Ok(());
        }
        let Ok(data) = self.read(&src).cloned() else { return Err(FsError::NotFound) };
        let target = if self.is_dir(&dst) { format!("{}{}", child_prefix(&dst), base_name(&src)) } else { dst };
        if self.is_dir(&target) {
            return Err(FsError::IsDirectory);
        }
        let data = FileData { modified: if preserve { data.modified } else { now }, ..data };
        self.entries.insert(target, Entry::File(data));
        Ok(())
    }

    /// Change a file's permission bits (directories keep none: nothing to do).
    pub fn set_mode(&mut self, path: &str, mode: u32) -> Result<(), FsError> {
        let path = normalize(path);
        if self.is_dir(&path) {
            return Ok(());
        }
        match self.entries.get_mut(&path) {
            Some(Entry::File(data)) => {
                data.mode = mode;
                Ok(())
            }
            _ => Err(FsError::NotFound),
        }
    }

    /// `mv`: rename `src` to `dst` (into `dst` when it is a directory).
    pub fn rename(&mut self, src: &str, dst: &str) -> Result<(), FsError> {
        let src = normalize(src);
        let mut dst = normalize(dst);
        if !self.exists(&src) {
            return Err(FsError::NotFound);
        }
        if self.is_dir(&dst) {
            dst = format!("{}{}", child_prefix(&dst), base_name(&src));
        }
        if src == dst {
            return Ok(());
        }
        self.copy(&src, &dst, true, 0.0)?;
        self.remove(&src, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize("/etc//kubernetes/./tmp/"), "/etc/kubernetes/tmp");
        assert_eq!(normalize("/a/b/../c"), "/a/c");
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("x"), "/root/x");
        assert_eq!(parent("/etc"), "/");
        assert_eq!(parent("/etc/hosts"), "/etc");
    }

    #[test]
    fn writes_need_their_directory() {
        let mut fs = Files::default();
        assert_eq!(fs.write("/etc/x", text("a"), 0o644, 0.0), Err(FsError::NotFound));
        fs.write_all("/etc/kubernetes/manifests/etcd.yaml", text("e"), 0o600, 1.0).unwrap();
        assert!(fs.is_dir("/etc/kubernetes"));
        assert_eq!(fs.text("/etc/kubernetes/manifests/etcd.yaml"), Some("e"));
        assert_eq!(fs.read("/etc/kubernetes"), Err(FsError::IsDirectory));
        assert_eq!(
            fs.write("/etc/kubernetes/manifests/etcd.yaml/x", text("a"), 0o644, 0.0),
            Err(FsError::NotDirectory)
        );
    }

    #[test]
    fn lists_children_once() {
        let mut fs = Files::default();
        fs.write_all("/d/a/1", text("1"), 0o644, 0.0).unwrap();
        fs.write_all("/d/a/2", text("2"), 0o644, 0.0).unwrap();
        fs.write_all("/d/b", text("b"), 0o644, 0.0).unwrap();
        fs.mkdir_p("/d/c").unwrap();
        assert_eq!(fs.list("/d").unwrap(), ["a", "b", "c"]);
        assert_eq!(fs.list("/nope"), Err(FsError::NotFound));
        assert_eq!(fs.list("/d/b"), Err(FsError::NotDirectory));
    }

    #[test]
    fn copies_directory_contents_and_moves() {
        let mut fs = Files::default();
        fs.write_all("/backup/kube-apiserver.yaml", text("old"), 0o600, 1.0).unwrap();
        fs.write_all("/manifests/kube-apiserver.yaml", text("new"), 0o600, 2.0).unwrap();
        fs.copy("/backup/.", "/manifests/", true, 9.0).unwrap();
        assert_eq!(fs.text("/manifests/kube-apiserver.yaml"), Some("old"));
        assert!((fs.read("/manifests/kube-apiserver.yaml").unwrap().modified - 1.0).abs() < f64::EPSILON);
        fs.rename("/manifests/kube-apiserver.yaml", "/backup").unwrap();
        assert!(fs.is_dir("/manifests"), "a directory outlives its last file");
        assert_eq!(fs.list("/manifests").unwrap(), Vec::<String>::new());
        assert_eq!(fs.text("/backup/kube-apiserver.yaml"), Some("old"));
        fs.remove("/backup", true).unwrap();
        assert!(!fs.exists("/backup/kube-apiserver.yaml"));
        assert_eq!(fs.remove("/backup", true), Err(FsError::NotFound));
    }

    #[test]
    fn mkdir_refuses_files_in_the_way() {
        let mut fs = Files::default();
        fs.write_all("/a/f", text("x"), 0o644, 0.0).unwrap();
        assert_eq!(fs.mkdir_p("/a/f/g"), Err(FsError::NotDirectory));
        assert_eq!(fs.mkdir("/a"), Err(FsError::Exists));
        assert_eq!(fs.mkdir("/x/y"), Err(FsError::NotFound));
        fs.mkdir("/x").unwrap();
        assert!(fs.is_dir("/x"));
    }
}
