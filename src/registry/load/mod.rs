//! Loading registration data from JSON Lines, with validation that names file, line and field.
//!
//! The input is a set of `*.jsonl` files (a data directory, or the demo registry embedded in the
//! binary). Every line is one object tagged by `kind`: `registry` (exactly one in the whole set),
//! `registrar`, `contact`, `host` or `domain`; `schema/registry-data.schema.json` documents the
//! format. Loading happens in two passes: each line is parsed and checked on its own, then
//! references between objects are resolved. All errors are collected (up to [`MAX_ERRORS`]) so an
//! operator fixes a bad export in one round, and nothing is served from a set with any error.
//!
//! Files are streamed in chunks of whole lines with a bounded line ([`MAX_LINE_BYTES`]) and a
//! bounded number of chunks in flight: a reload never holds a whole file in memory, so a junk file
//! cannot grow the live process. The chunks of the first pass are parsed on all cores and merged
//! in file order, so errors and "first wins" rules do not depend on the threads.
//!
//! The parts, in the order a line meets them:
//! - [`raw`]: one line to a raw record: straight into borrowed structs when the line is good (the
//!   fast path), else through a value tree that refuses duplicate keys and names the bad field
//!   (the strict path), with serde messages stripped of values;
//! - [`convert`]: a raw record to a validated model record, field by field;
//! - [`crossref`]: the second pass: references between records, zones, glue, the snapshot;
//! - [`demo`]: the demo registry embedded in the binary.
//!
//! Errors never carry the offending value in their message: they go to the server log, and a
//! contact's phone number or street must not. Each [`LoadError`] keeps the value apart, and only
//! [`LoadErrors::with_values`] (used by `rddsd check --show-values`) prints it.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use super::model::*;
use super::name::DomainName;
use super::store::Snapshot;

mod convert;
mod crossref;
pub mod delta_dir;
pub mod delta_file;
mod demo;
pub mod fetched;
mod raw;

use convert::Line;
pub use demo::{load_demo, DEMO_REGISTRY};
use raw::*;
use serde::de::DeserializeSeed;

/// Stop collecting after this many errors: a wholly wrong file would otherwise print millions.
pub const MAX_ERRORS: usize = 100;

/// Longest line accepted. The largest legitimate object (a domain with a few dozen nameservers
/// and DS records) is a few KiB; this bound is the most a reader ever buffers, so a corrupt or
/// hostile file cannot exhaust memory. A longer line is an error naming file and line.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// One problem in the input, located precisely enough to fix it. Its `Debug`, like its
/// `Display`, leaves the offending value out.
#[derive(Clone, PartialEq, Eq)]
pub struct LoadError {
    /// File name (as given, or the embedded name).
    pub file: String,
    /// 1-based line number; 0 for problems of the whole set.
    pub line: usize,
    /// The field, as a path such as `voice.number`; empty for the whole line.
    pub field: String,
    /// What is wrong, without the offending value.
    pub message: String,
    /// The offending value, if any. Never part of [`fmt::Display`]: it may be personal data.
    pub value: Option<String>,
}

impl fmt::Debug for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadError")
            .field("file", &self.file)
            .field("line", &self.line)
            .field("field", &self.field)
            .field("message", &self.message)
            .field("value", &self.value.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.field.is_empty()) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (_, true) => write!(f, "{}:{}: {}", self.file, self.line, self.message),
            (_, false) => write!(
                f,
                "{}:{}: field `{}`: {}",
                self.file, self.line, self.field, self.message
            ),
        }
    }
}

/// All the errors of one failed load. `Display` prints locations and problems only, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<LoadError>);

impl LoadErrors {
    /// The errors with each offending value appended, for an operator's terminal
    /// (`rddsd check --show-values`). Never log this.
    pub fn with_values(&self) -> impl fmt::Display + '_ {
        WithValues(self)
    }
}

struct WithValues<'a>(&'a LoadErrors);

impl fmt::Display for WithValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0 .0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
            if let Some(v) = &e.value {
                // Escape what could forge or reorder terminal lines; keep the rest readable.
                write!(f, " (value: {})", super::shown::escaped(v))?;
            }
        }
        if self.0 .0.len() >= MAX_ERRORS {
            write!(f, "\n(stopped after {MAX_ERRORS} errors)")?;
        }
        Ok(())
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.0.len() >= MAX_ERRORS {
            write!(f, "\n(stopped after {MAX_ERRORS} errors)")?;
        }
        Ok(())
    }
}

/// Load every `*.jsonl` file of a directory, in file-name order.
///
/// # Errors
/// Unreadable directory or files, or any validation error.
pub fn load_dir(dir: &Path) -> Result<Snapshot, LoadErrors> {
    load_dir_over(dir, None)
}

/// [`load_dir`] for a reload that replaces `previous`: every record that did not change is
/// shared with it (the same `Arc`), so the reload holds the old generation plus the changes
/// rather than two full copies.
///
/// # Errors
/// Unreadable directory or files, or any validation error.
pub fn load_dir_over(dir: &Path, previous: Option<&Snapshot>) -> Result<Snapshot, LoadErrors> {
    let dir_name = dir.display().to_string();
    let fail = |message: String| {
        LoadErrors(vec![LoadError {
            file: dir_name.clone(),
            line: 0,
            field: String::new(),
            message,
            value: None,
        }])
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| fail(format!("cannot read data directory: {e}")))?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(fail("no *.jsonl files in the data directory".into()));
    }
    let mut loader = Loader::full_load(previous);
    let started = std::time::Instant::now();
    // Opened one at a time as the reader reaches them, so an unreadable file is reported in
    // file order and at most one file is open.
    loader.add_sources(files.into_iter().map(|path| {
        let reader = std::fs::File::open(&path)
            .map(|f| std::io::BufReader::with_capacity(READ_BUFFER_BYTES, f));
        (path.display().to_string(), reader)
    }));
    let parsed = started.elapsed();
    let result = loader.finish();
    // Where the time of a large load goes, for an operator tuning start-up (`--log rddsd=debug`).
    tracing::debug!(
        parse_ms = parsed.as_millis(),
        check_and_index_ms = (started.elapsed() - parsed).as_millis(),
        "data directory read"
    );
    result
}

// ===== reading in chunks, parsing on all cores =====
//
// One thread (the caller's) reads the files in order and cuts them into chunks of whole lines;
// each chunk is parsed and converted on a thread of its own into a partial `Loader`, and the
// partial loaders are merged back strictly in chunk order. Every line is handled exactly as
// before and its errors land in the same order, so the result, errors included, is the same as
// reading line by line on one thread. The one rule that spans lines during the first pass, "only
// one registry record", needs the records before it: a worker defers each registry record to the
// merge, which runs `registry_line` at its place in the error sequence. At most one chunk more
// than there are workers (cores, up to `MAX_WORKERS`) is in flight (read, parsing, or parsed and
// waiting for its turn), so memory holds a few chunks of text beside the records, never a whole
// file.

/// Bytes of whole lines given to one worker: large enough that starting a thread and merging
/// are noise beside parsing (a 4 MiB chunk is about ten thousand records), small enough that the
/// chunks in flight stay a few MiB. Tiny in unit tests, so that every test set is cut into
/// several chunks and its results go through the merge.
const CHUNK_BYTES: usize = if cfg!(test) { 300 } else { 4 * 1024 * 1024 };

/// Lines per chunk at most, so a file of blank lines still comes in bounded pieces.
const CHUNK_LINES: usize = 64 * 1024;

/// Most chunks parsed at once.
const MAX_WORKERS: usize = 8;

/// Read buffer of each data file.
const READ_BUFFER_BYTES: usize = 256 * 1024;

/// Whole lines of one file, and the reader's own errors between them, in file order, with the
/// (empty) partial loader they are parsed into.
struct Chunk {
    file: Arc<str>,
    text: Vec<u8>,
    items: Vec<Item>,
    part: Loader,
    /// In a full load: where the worker puts the chunk's records, each behind its `Arc` and
    /// shared with the previous generation where unchanged (compared on the worker, in
    /// parallel, not at the merge).
    keep: Option<crossref::Kept>,
}

/// A parsed chunk: the partial loader to merge, and the buffers to reuse. Once merged, all of
/// it serves the next chunk: its emptied buffers and record vectors, so that chunks after the
/// first few neither grow a vector nor fault in fresh pages, and its nameserver cache.
#[derive(Default)]
struct Spare {
    text: Vec<u8>,
    items: Vec<Item>,
    part: Loader,
}

enum Item {
    /// A line's bytes without its `\n`: `text[start..end]`.
    Line { no: usize, start: usize, end: usize },
    /// An error the reader found (overlong line, UTF-16 file, read error).
    Error { no: usize, message: String },
}

impl Chunk {
    fn new(file: &Arc<str>, spare: Spare, keep: Option<crossref::Kept>) -> Self {
        Self {
            file: file.clone(),
            text: spare.text,
            items: spare.items,
            part: spare.part,
            keep,
        }
    }

    fn error(&mut self, no: usize, message: String) {
        self.items.push(Item::Error { no, message });
    }

    /// Parse and convert every line into the partial loader.
    fn parse(self) -> Spare {
        let Chunk {
            file,
            mut text,
            mut items,
            mut part,
            keep,
        } = self;
        part.defer_registry = true;
        for item in items.drain(..) {
            match item {
                Item::Line { no, start, end } => part.add_line_bytes(&file, no, &text[start..end]),
                Item::Error { no, message } => part.error(&file, no, "", message),
            }
        }
        text.clear();
        if let Some(mut keep) = keep {
            keep.take(&mut part);
            part.kept = Some(Box::new(keep));
        }
        Spare { text, items, part }
    }
}

/// Nameserver names already parsed by one worker, by their text in the file.
#[derive(Default)]
pub(super) struct NameCache(HashMap<Box<str>, DomainName>);

impl NameCache {
    /// Far more than the distinct nameservers of a real registry; past it names are parsed each
    /// time, so a file of a million distinct names cannot grow the cache without bound.
    const MAX: usize = 100_000;

    pub(super) fn get(&self, text: &str) -> Option<DomainName> {
        self.0.get(text).cloned()
    }

    pub(super) fn insert(&mut self, text: &str, name: &DomainName) {
        if self.0.len() < Self::MAX {
            self.0.insert(text.into(), name.clone());
        }
    }
}

/// Chunks being parsed, oldest first, and what finished ones left for reuse.
struct Pipeline<'scope, 'env> {
    scope: &'scope std::thread::Scope<'scope, 'env>,
    in_flight: VecDeque<InFlight<'scope>>,
    limit: usize,
    spares: Vec<Spare>,
    /// In a full load, the empty record set each chunk's worker fills.
    keep: Option<crossref::Kept>,
}

enum InFlight<'scope> {
    /// `None` only if the chunk never reached the thread, which `submit` rules out.
    Running(std::thread::ScopedJoinHandle<'scope, Option<Spare>>),
    /// Parsed on the reading thread because no thread could be started.
    Done(Box<Spare>),
}

impl<'scope> Pipeline<'scope, '_> {
    /// Hand a chunk to a new thread, first merging the oldest chunk if enough are in flight.
    fn submit(&mut self, loader: &mut Loader, chunk: Chunk) {
        if self.in_flight.len() >= self.limit {
            self.merge_oldest(loader);
        }
        // The chunk goes over a channel rather than into the closure, so that it is still here
        // when no thread can be started, and is then parsed on this one.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(1);
        let spawned = std::thread::Builder::new()
            .name("rddsd-load".into())
            .spawn_scoped(self.scope, move || rx.recv().ok().map(Chunk::parse));
        self.in_flight.push_back(match spawned {
            Ok(handle) => match tx.send(chunk) {
                Ok(()) => InFlight::Running(handle),
                Err(std::sync::mpsc::SendError(chunk)) => InFlight::Done(Box::new(chunk.parse())),
            },
            Err(_) => InFlight::Done(Box::new(chunk.parse())),
        });
    }

    /// A new, empty chunk of `file`, on the buffers of a parsed one if there is one.
    fn chunk(&mut self, file: &Arc<str>) -> Chunk {
        let keep = self.keep.as_ref().map(crossref::Kept::for_worker);
        Chunk::new(file, self.spares.pop().unwrap_or_default(), keep)
    }

    /// Merge the oldest chunk in flight, waiting for it if need be.
    fn merge_oldest(&mut self, loader: &mut Loader) {
        let parsed = match self.in_flight.pop_front() {
            None => return,
            Some(InFlight::Done(parsed)) => Some(*parsed),
            Some(InFlight::Running(handle)) => match handle.join() {
                Ok(parsed) => parsed,
                // A bug in a worker is a bug here: let it surface as it would have on one thread.
                Err(panic) => std::panic::resume_unwind(panic),
            },
        };
        if let Some(mut spare) = parsed {
            loader.absorb(&mut spare.part);
            self.spares.push(spare);
        }
    }

    fn drain(&mut self, loader: &mut Loader) {
        while !self.in_flight.is_empty() {
            self.merge_oldest(loader);
        }
    }

    /// Cut one file into chunks of whole lines, never buffering more than [`MAX_LINE_BYTES`] of
    /// a line. Stops early once enough errors are collected.
    fn read_file(&mut self, loader: &mut Loader, file: &Arc<str>, mut reader: impl BufRead) {
        let mut chunk = self.chunk(file);
        let mut line_no = 0;
        loop {
            line_no += 1;
            let start = chunk.text.len();
            let (overlong, eof) =
                match append_bounded_line(&mut reader, &mut chunk.text, MAX_LINE_BYTES) {
                    Ok(r) => r,
                    Err(e) => {
                        chunk.error(line_no, format!("cannot read file: {e}"));
                        break;
                    }
                };
            let line = &chunk.text[start..];
            if eof && line.is_empty() && !overlong {
                break;
            }
            if overlong {
                chunk.error(line_no, format!("line longer than {MAX_LINE_BYTES} bytes"));
            } else if line_no == 1
                && (line.starts_with(b"\xFF\xFE") || line.starts_with(b"\xFE\xFF"))
            {
                chunk.error(
                    1,
                    "the file starts with a UTF-16 byte order mark: export it as UTF-8".into(),
                );
                break;
            } else {
                let end = chunk.text.len();
                chunk.items.push(Item::Line {
                    no: line_no,
                    start,
                    end,
                });
            }
            if eof {
                break;
            }
            if chunk.text.len() >= CHUNK_BYTES || chunk.items.len() >= CHUNK_LINES {
                let full = std::mem::replace(&mut chunk, Chunk::new(file, Spare::default(), None));
                self.submit(loader, full);
                // Taken after the submit, which may have freed one.
                chunk = self.chunk(file);
                if loader.full() {
                    return;
                }
            }
        }
        if !chunk.items.is_empty() {
            self.submit(loader, chunk);
        }
    }
}

// ===== raw input records (the JSON Lines format) =====

/// Identities of refused records (ROIDs as lookup keys, names in A-label form).
#[derive(Default)]
struct Failed {
    roids: HashSet<String>,
    registrars: HashSet<u32>,
    hosts: HashSet<String>,
    domains: HashSet<String>,
}

/// Where a record came from, for errors found in the second pass. The file name is shared by
/// all the records of a file.
#[derive(Clone)]
struct Origin {
    file: Arc<str>,
    line: usize,
}

/// Collects validated records and errors across files, then resolves references.
#[derive(Default)]
struct Loader {
    errors: Vec<LoadError>,
    /// Identities of records refused in the first pass. A reference to one of them is not
    /// reported again: the record's own error is the cause, and repeating it once per referencing
    /// domain would bury it.
    failed: Failed,
    registry: Option<(Origin, Vec<String>, Timestamp)>,
    registrars: Vec<(Origin, Registrar)>,
    contacts: Vec<(Origin, Contact)>,
    hosts: Vec<(Origin, Host)>,
    domains: Vec<(Origin, Domain)>,
    /// Set in a worker's partial loader: registry records are not checked there but kept in
    /// `deferred` with the number of errors before them, for the merge (see [`Loader::absorb`]).
    defer_registry: bool,
    deferred: Vec<(usize, Origin, RawRegistry)>,
    /// Nameserver names parsed so far by this worker.
    names: NameCache,
    /// In the loader of a full load: the merged records, ready for the snapshot. (Workers and
    /// delta files keep theirs in the vectors above.)
    kept: Option<Box<crossref::Kept>>,
}

impl Loader {
    /// The loader of a full load, replacing `previous` if any.
    fn full_load(previous: Option<&Snapshot>) -> Self {
        Self {
            kept: Some(Box::new(crossref::Kept::over(previous))),
            ..Self::default()
        }
    }

    /// Field-error context for one line.
    fn at<'a>(&'a mut self, origin: &'a Origin) -> Line<'a> {
        Line {
            loader: self,
            file: &origin.file,
            line: origin.line,
        }
    }

    fn error(&mut self, file: &str, line: usize, field: &str, message: String) {
        self.error_v(file, line, field, message, None);
    }

    fn error_v(
        &mut self,
        file: &str,
        line: usize,
        field: &str,
        message: impl Into<String>,
        value: Option<String>,
    ) {
        self.push_error(LoadError {
            file: file.to_string(),
            line,
            field: field.to_string(),
            message: message.into(),
            value,
        });
    }

    fn push_error(&mut self, e: LoadError) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(e);
        }
    }

    /// Whether enough errors were collected to stop reading.
    fn full(&self) -> bool {
        self.errors.len() >= MAX_ERRORS
    }

    /// Read and check files in the order given, parsing on all cores. A source that could not
    /// be opened is an error of that file, in its place.
    fn add_sources<R: BufRead>(
        &mut self,
        sources: impl IntoIterator<Item = (String, std::io::Result<R>)>,
    ) {
        // Past a few workers the one reading and merging thread is the limit, and every worker
        // adds a chunk in flight, so a large machine does not get one per core.
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(MAX_WORKERS);
        std::thread::scope(|scope| {
            let mut pipe = Pipeline {
                scope,
                in_flight: VecDeque::new(),
                // One more than the cores, so a chunk is being read while the others parse.
                limit: threads + 1,
                spares: Vec::new(),
                keep: self.kept.as_deref().map(crossref::Kept::for_worker),
            };
            for (file, reader) in sources {
                if self.full() {
                    break;
                }
                let file: Arc<str> = file.into();
                match reader {
                    Ok(r) => pipe.read_file(self, &file, r),
                    Err(e) => {
                        let mut chunk = pipe.chunk(&file);
                        chunk.error(0, format!("cannot read file: {e}"));
                        pipe.submit(self, chunk);
                    }
                }
            }
            pipe.drain(self);
        });
    }

    /// Read one file line by line, never buffering more than [`MAX_LINE_BYTES`] of a line.
    fn add_reader(&mut self, file: &str, reader: impl BufRead) {
        self.add_sources([(file.to_string(), Ok(reader))]);
    }

    /// Merge a worker's partial loader, the next in file order, leaving it empty (but for its
    /// name cache) for the next chunk.
    fn absorb(&mut self, part: &mut Loader) {
        let failed = std::mem::take(&mut part.failed);
        if self.full() {
            // Nothing after this point can change the outcome: the load fails with the errors
            // already collected, as it would have stopped reading here.
            part.errors.clear();
            part.deferred.clear();
            part.registrars.clear();
            part.contacts.clear();
            part.hosts.clear();
            part.domains.clear();
            part.kept = None;
            return;
        }
        let mut errors = part.errors.drain(..);
        let mut merged = 0;
        for (before, origin, raw) in part.deferred.drain(..) {
            for e in errors.by_ref().take(before - merged) {
                self.push_error(e);
            }
            merged = before;
            self.registry_line(origin, raw);
        }
        for e in errors {
            self.push_error(e);
        }
        self.failed.absorb(failed);
        if let Some(kept) = &mut self.kept {
            match part.kept.take() {
                Some(mut records) => kept.append(&mut records),
                None => kept.take(part),
            }
        } else {
            self.registrars.append(&mut part.registrars);
            self.contacts.append(&mut part.contacts);
            self.hosts.append(&mut part.hosts);
            self.domains.append(&mut part.domains);
        }
    }

    /// Check a registry record now, or in a worker keep it for the merge: whether it is a
    /// second one depends on the lines before it.
    fn registry_or_defer(&mut self, origin: Origin, raw: RawRegistry) {
        if self.defer_registry {
            self.deferred.push((self.errors.len(), origin, raw));
        } else {
            self.registry_line(origin, raw);
        }
    }

    /// One line as read, without its `\n`.
    fn add_line_bytes(&mut self, file: &Arc<str>, line_no: usize, buf: &[u8]) {
        // A UTF-8 byte order mark is tolerated at the start of a file (some Windows tools
        // write one); anywhere else it is a concatenation accident and refused below.
        let bytes = if line_no == 1 {
            buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf)
        } else {
            buf
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => self.add_raw_line(file, line_no, text),
            Err(_) => self.error(file, line_no, "", "the line is not valid UTF-8".into()),
        }
    }

    fn add_raw_line(&mut self, file: &Arc<str>, line: usize, text: &str) {
        let trimmed = text.trim();
        // Blank lines are tolerated so hand-edited files stay forgiving; everything else is
        // exactly one JSON object.
        if trimmed.is_empty() {
            return;
        }
        if trimmed.starts_with('\u{FEFF}') {
            self.error(
                file,
                line,
                "",
                "a byte order mark (U+FEFF) is only allowed at the very start of a file".into(),
            );
            // Still note which record this was, so references to it do not cascade.
            if let Ok(v) =
                serde_json::from_str::<serde_json::Value>(&trimmed['\u{FEFF}'.len_utf8()..])
            {
                if let Some(kind) = v.get("kind").and_then(|k| k.as_str()) {
                    self.failed.record(&Identity::of(kind, &v));
                }
            }
            return;
        }
        self.add_line(file, line, trimmed);
    }

    fn add_line(&mut self, file: &Arc<str>, line: usize, text: &str) {
        if !self.add_line_fast(file, line, text) {
            self.add_line_strict(file, line, text);
        }
    }

    /// The fast path: the line deserialised straight into its raw record, strings borrowed from
    /// the line, with no value tree and no path bookkeeping. Returns false, having recorded
    /// nothing, when the line must go the strict way ([`Self::add_line_strict`]), which then
    /// produces the error exactly as before.
    ///
    /// It never accepts a line the strict path refuses, so a line it takes has the same outcome:
    /// - it runs only on a line starting with `{`, which serde_json reads as a map (a derived
    ///   struct would also accept an array, which the strict path refuses: "not a JSON object");
    /// - `serde_json::from_str` is the same parser as the strict reader's, and also refuses
    ///   trailing text after the object;
    /// - every object in a record is read into a derived struct with `deny_unknown_fields`
    ///   (there is no map and no ignored value), and a derived struct refuses a field given twice,
    ///   so any duplicate key fails here as `StrictValue` refuses it there;
    /// - `kind` is a field of every raw record, so given twice it fails too, and given once it is
    ///   the kind the strict path dispatches on ([`fast_kind`] finds that same one);
    /// - the record goes through the same `Deserialize` impls as the strict path's
    ///   `serde_path_to_error::deserialize` from the value tree, and the tree hands their visitors
    ///   the calls the parser made (`visit_u64`, `visit_i64` or `visit_f64` for a number, a
    ///   string for a string, a map for an object, …), so both accept the same records with the
    ///   same field values, and the conversion after it is the same code.
    fn add_line_fast(&mut self, file: &Arc<str>, line: usize, text: &str) -> bool {
        let Some(kind) = fast_kind(text) else {
            return false;
        };
        let origin = || Origin {
            file: file.clone(),
            line,
        };
        let before = self.errors.len();
        macro_rules! parse {
            ($ty:ty) => {
                match serde_json::from_str::<$ty>(text) {
                    Ok(raw) => raw,
                    Err(_) => return false,
                }
            };
        }
        match &*kind {
            "registry" => {
                let raw = parse!(RawRegistry);
                self.registry_or_defer(origin(), raw);
            }
            "registrar" => {
                let raw = parse!(RawRegistrar<'_>);
                self.registrar_line(origin(), raw);
            }
            "contact" => {
                let raw = parse!(RawContact<'_>);
                self.contact_line(origin(), raw);
            }
            "host" => {
                let raw = parse!(RawHost<'_>);
                self.host_line(origin(), raw);
            }
            "domain" => {
                let raw = parse!(RawDomain<'_>);
                self.domain_line(origin(), raw);
            }
            _ => return false,
        }
        if self.errors.len() != before {
            // The record's identity as the strict path reads it, from the same text: without a
            // duplicate key, serde_json's own value tree is the one `StrictValue` builds.
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
                self.failed.record(&Identity::of(&kind, &value));
            }
        }
        true
    }

    /// The strict path: the line as a value tree that refuses a duplicate key, then the raw
    /// record with the path of the first bad field. Slow, and run only for a line the fast path
    /// did not take, to name the problem.
    fn add_line_strict(&mut self, file: &Arc<str>, line: usize, text: &str) {
        let dup: RefCell<Option<String>> = RefCell::new(None);
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = StrictValue {
            path: String::new(),
            dup: &dup,
        }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
        let value = match parsed {
            Ok(v) => v,
            Err(e) => {
                if let Some(path) = dup.into_inner() {
                    self.error(
                        file,
                        line,
                        &path,
                        "this key appears twice in one object (JSON keeps only one of them silently)".into(),
                    );
                } else {
                    self.error_v(
                        file,
                        line,
                        "",
                        format!("not a JSON object: {}", json_syntax_message(&e)),
                        None,
                    );
                }
                return;
            }
        };
        if !value.is_object() {
            self.error(file, line, "", "not a JSON object".into());
            return;
        }
        let kind = match value.get("kind").and_then(|k| k.as_str()) {
            Some(k) => k.to_string(),
            None => {
                self.error(
                    file,
                    line,
                    "kind",
                    "missing: one of registry, registrar, contact, host, domain".into(),
                );
                return;
            }
        };
        let identity = Identity::of(&kind, &value);
        let origin = Origin {
            file: file.clone(),
            line,
        };
        let before = self.errors.len();
        macro_rules! parse {
            ($ty:ty) => {
                match serde_path_to_error::deserialize::<_, $ty>(&value) {
                    Ok(raw) => raw,
                    Err(e) => {
                        let path = e.path().to_string();
                        let path = if path == "." { String::new() } else { path };
                        let shown = value_at(&value, e.path());
                        let message = serde_message(&e.into_inner().to_string());
                        self.error_v(file, line, &path, message, shown);
                        self.failed.record(&identity);
                        return;
                    }
                }
            };
        }
        match kind.as_str() {
            "registry" => {
                let raw = parse!(RawRegistry);
                self.registry_or_defer(origin, raw);
            }
            "registrar" => {
                let raw = parse!(RawRegistrar<'_>);
                self.registrar_line(origin, raw);
            }
            "contact" => {
                let raw = parse!(RawContact<'_>);
                self.contact_line(origin, raw);
            }
            "host" => {
                let raw = parse!(RawHost<'_>);
                self.host_line(origin, raw);
            }
            "domain" => {
                let raw = parse!(RawDomain<'_>);
                self.domain_line(origin, raw);
            }
            other => self.error_v(
                file,
                line,
                "kind",
                "unknown kind: one of registry, registrar, contact, host, domain",
                Some(other.to_string()),
            ),
        }
        if self.errors.len() != before {
            self.failed.record(&identity);
        }
    }
}

impl Failed {
    fn absorb(&mut self, other: Failed) {
        self.roids.extend(other.roids);
        self.registrars.extend(other.registrars);
        self.hosts.extend(other.hosts);
        self.domains.extend(other.domains);
    }

    fn record(&mut self, id: &Identity) {
        match id.kind.as_str() {
            "registrar" => self.registrars.extend(id.iana_id),
            "contact" => self.roids.extend(id.roid.clone()),
            "host" => {
                self.roids.extend(id.roid.clone());
                self.hosts.extend(id.name.clone());
            }
            "domain" => {
                self.roids.extend(id.roid.clone());
                self.domains.extend(id.name.clone());
            }
            _ => {}
        }
    }
}

/// Validate a data set held in memory, as (file name, text) pairs. Used by tests and benches.
///
/// # Errors
/// Any validation error.
pub fn load_texts(files: &[(&str, &str)]) -> Result<Snapshot, LoadErrors> {
    let mut loader = Loader::full_load(None);
    loader.add_sources(
        files
            .iter()
            .map(|(file, text)| (file.to_string(), Ok(text.as_bytes()))),
    );
    loader.finish()
}

/// Read one line (without its `\n`) into `buf`, keeping at most `max` bytes. Returns
/// `(overlong, eof)`: `overlong` when the line was longer than `max` (its bytes are consumed and
/// dropped, `buf` is left empty), `eof` when the input ended.
#[cfg(test)]
fn read_bounded_line(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(bool, bool)> {
    buf.clear();
    append_bounded_line(r, buf, max)
}

/// Append one line (without its `\n`) to `buf`, keeping at most `max` bytes of it. Returns
/// `(overlong, eof)`: `overlong` when the line was longer than `max` (its bytes are consumed and
/// dropped, `buf` is left as it was), `eof` when the input ended.
fn append_bounded_line(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(bool, bool)> {
    let start = buf.len();
    let mut overlong = false;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((overlong, true));
        }
        let (used, content_len, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, i, true),
            None => (chunk.len(), chunk.len(), false),
        };
        if !overlong {
            if buf.len() - start + content_len > max {
                overlong = true;
                buf.truncate(start);
            } else {
                buf.extend_from_slice(&chunk[..content_len]);
            }
        }
        r.consume(used);
        if done {
            return Ok((overlong, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTRY: &str =
        r#"{"kind":"registry","tlds":["example"],"updated":"2026-01-01T00:00:00Z"}"#;
    const REGISTRAR: &str = r#"{"kind":"registrar","ianaId":1001,"name":"R","abuseEmail":"abuse@r.example","abusePhone":{"number":"+1.5555550100"},"address":{"city":"C","cc":"US"}}"#;
    const CONTACT: &str = r#"{"kind":"contact","roid":"C1-T","name":"N","city":"C","cc":"DE","email":"n@n.example","personType":"natural"}"#;
    const HOST: &str = r#"{"kind":"host","roid":"H1-T","name":"ns1.a.example","addresses":["192.0.2.1"],"statuses":["ok"],"registrar":1001}"#;
    const DOMAIN: &str = r#"{"kind":"domain","roid":"D1-T","name":"a.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001,"registrant":"C1-T","nameservers":["ns1.a.example"]}"#;

    fn base() -> Vec<String> {
        [REGISTRY, REGISTRAR, CONTACT, HOST, DOMAIN]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn load(lines: &[String]) -> Result<Snapshot, LoadErrors> {
        let text = lines.join("\n");
        load_texts(&[("t.jsonl", &text)])
    }

    fn with(extra: &[&str]) -> Result<Snapshot, LoadErrors> {
        let mut lines = base();
        lines.extend(extra.iter().map(|s| s.to_string()));
        load(&lines)
    }

    /// `DOMAIN` with one field replaced (or added) as raw JSON.
    fn domain_with(key: &str, json: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(DOMAIN).expect("json");
        v["roid"] = "D2-T".into();
        v["name"] = "b.example".into();
        v[key] = serde_json::from_str(json).expect("json");
        v.to_string()
    }

    #[test]
    fn a_reload_shares_every_record_that_did_not_change() {
        let b = |created: &str| domain_with("created", &format!("\"{created}\""));
        let before = with(&[&b("2020-01-01T00:00:00Z")]).expect("valid");
        let mut lines = base();
        lines.push(b("2021-06-01T00:00:00Z"));
        let text = lines.join("\n");
        let mut loader = Loader::full_load(Some(&before));
        loader.add_reader("t.jsonl", text.as_bytes());
        let after = loader.finish().expect("valid");

        let same = |name: &str| {
            Arc::ptr_eq(
                before.domains.get(name).expect("before"),
                after.domains.get(name).expect("after"),
            )
        };
        assert!(
            same("a.example"),
            "an unchanged domain is the same allocation"
        );
        assert!(!same("b.example"), "a changed domain is a new record");
        assert_eq!(
            after
                .domains
                .get("b.example")
                .map(|d| d.created.text().as_str().to_owned()),
            Some("2021-06-01T00:00:00Z".to_owned())
        );
        let contact = |s: &Snapshot| Arc::clone(&s.contacts.get("C1-T").expect("contact").contact);
        assert!(Arc::ptr_eq(&contact(&before), &contact(&after)));
        let host = |s: &Snapshot| Arc::clone(&s.hosts.get("ns1.a.example").expect("host").host);
        assert!(Arc::ptr_eq(&host(&before), &host(&after)));
        // The reload continues the revision count: taken-over records are never newer than
        // the snapshot that holds them, and the changed one is of the reload.
        assert_eq!(after.revision(), before.revision() + 1);
        assert_eq!(
            after.domains.get("b.example").map(|d| d.since()),
            Some(after.revision())
        );
        // References still count across both: the contact is registrant of both domains.
        assert_eq!(after.contacts.get("C1-T").map(|c| c.registrant_of), Some(2));
    }

    fn errors(r: Result<Snapshot, LoadErrors>) -> Vec<LoadError> {
        match r {
            Ok(_) => panic!("expected a refusal"),
            Err(e) => e.0,
        }
    }

    /// Everything one line leaves in a loader, comparable.
    fn outcome(l: &Loader) -> String {
        let mut failed: Vec<String> = l
            .failed
            .roids
            .iter()
            .chain(&l.failed.hosts)
            .chain(&l.failed.domains)
            .cloned()
            .chain(l.failed.registrars.iter().map(u32::to_string))
            .collect();
        failed.sort();
        let contacts: Vec<_> = l
            .contacts
            .iter()
            .map(|(_, c)| {
                (
                    c.roid.as_str().to_string(),
                    c.name().to_string(),
                    c.org().map(str::to_string),
                    c.street().iter().map(str::to_string).collect::<Vec<_>>(),
                    c.city().to_string(),
                    c.cc().to_string(),
                    c.voice().map(|v| v.tel_uri()),
                    c.email().to_string(),
                    c.person,
                    c.consent,
                )
            })
            .collect();
        format!(
            "errors {:?} values {:?} failed {failed:?} registry {:?} registrars {:?} contacts {contacts:?} hosts {:?} domains {:?}",
            l.errors,
            l.errors.iter().map(|e| e.value.clone()).collect::<Vec<_>>(),
            l.registry.as_ref().map(|(o, t, u)| (o.line, t, u.unix())),
            l.registrars.iter().map(|(_, r)| r).collect::<Vec<_>>(),
            l.hosts.iter().map(|(_, h)| h).collect::<Vec<_>>(),
            l.domains.iter().map(|(_, d)| d).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn the_fast_path_agrees_with_the_strict_path() {
        let contact = |fields: &str| {
            format!(
                r#"{{"kind":"contact","roid":"C9-T","name":"N","city":"C","cc":"DE","email":"n@n.example","personType":"natural"{fields}}}"#
            )
        };
        let domain = |fields: &str| {
            format!(
                r#"{{"kind":"domain","roid":"D9-T","name":"z.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001{fields}}}"#
            )
        };
        let mut lines: Vec<String> = [REGISTRY, REGISTRAR, CONTACT, HOST, DOMAIN]
            .iter()
            .map(|s| s.to_string())
            .collect();
        lines.extend([
            // Escapes, so strings are owned rather than borrowed.
            contact(r#","org":"\u00c9cole \"X\"","street":["a\/b","c"],"sp":"S\u00e9","pc":"1""#),
            contact(r#","voice":{"number":"+1.5555550100","ext":"1\u0032"}"#),
            // Field order, white space and `kind` not first: the fallback that finds `kind`.
            contact(r#", "org" : "O""#).replacen(r#""kind":"contact","#, "", 1).replacen('{', r#"{"roid":"C8-T", "kind" : "contact", "#, 1).replacen(r#""roid":"C9-T","#, "", 1),
            CONTACT.replace(r#""kind":"contact""#, r#""kind":"cont\u0061ct""#),
            // Duplicate keys, at the top and nested.
            CONTACT.replace(r#""kind":"contact""#, r#""kind":"contact","kind":"contact""#),
            CONTACT.replace(r#""name":"N""#, r#""name":"N","name":"M""#),
            REGISTRAR.replace(r#"{"number":"+1.5555550100"}"#, r#"{"number":"+1.5555550100","number":"+1.5"}"#),
            domain(r#","ds":[{"keyTag":1,"algorithm":13,"digestType":2,"digestType":2,"digest":"00"}]"#),
            // Not an object, or not only one.
            format!("[{CONTACT}]"),
            r#"["contact","C1-T"]"#.into(),
            format!("{CONTACT} x"),
            format!("{CONTACT}{CONTACT}"),
            "{}".into(),
            r#"{"kind":"domain""#.into(),
            r#"{"kind":5}"#.into(),
            r#"{"kind":"zone"}"#.into(),
            r#"{"kind":"contact"}"#.into(),
            // A struct given as an array, an enum as a map: accepted by both.
            REGISTRAR.replace(r#"{"number":"+1.5555550100"}"#, r#"["+1.5555550100"]"#),
            CONTACT.replace(r#""personType":"natural""#, r#""personType":{"natural":null}"#),
            // Numbers.
            domain("").replace("1001", "1001.0"),
            domain("").replace("1001", "1e3"),
            domain("").replace("1001", "-0"),
            domain("").replace("1001", "-1"),
            domain("").replace("1001", "4294967296"),
            domain("").replace("1001", "01001"),
            domain(r#","ds":[{"keyTag":70000,"algorithm":13,"digestType":2,"digest":"00"}]"#),
            // Types, nulls, unknown fields, missing fields.
            contact(r#","org":null,"voice":null,"street":[]"#),
            CONTACT.replace(r#""name":"N""#, r#""name":null"#),
            CONTACT.replace(r#""city":"C""#, r#""city":"C","street":"x""#),
            CONTACT.replace(r#""city":"C""#, r#""city":"C","street":[1]"#),
            CONTACT.replace(r#""city":"C""#, r#""city":"C","colour":"red""#),
            CONTACT.replace(r#","email":"n@n.example""#, ""),
            contact(r#","consent":["name","handle"]"#),
            contact(r#","consent":["nope"]"#),
            domain(r#","statuses":["ok"]"#),
            CONTACT.replace(r#""name":"N""#, r#""name":"\ud800""#),
            // Conversion errors after a good parse: the refused record's identity is noted.
            CONTACT.replace(r#""cc":"DE""#, r#""cc":"Germany""#),
            domain(r#","nameservers":["ns1.a.example","bad..name","ns1.a.example"]"#),
            domain("").replace("z.example", "Z.EXAMPLE."),
            HOST.replace("192.0.2.1", "127.0.0.1"),
            REGISTRAR.replace("1001", "0"),
            REGISTRY.replace(r#"["example"]"#, r#"["example","example"]"#),
            REGISTRY.replace(r#""updated""#, r#""updated":"x","x""#),
        ]);
        let file: Arc<str> = "t.jsonl".into();
        let mut taken = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let mut fast = Loader::default();
            if fast.add_line_fast(&file, 7, line) {
                taken.push(i);
            } else {
                fast.add_line_strict(&file, 7, line);
            }
            let mut strict = Loader::default();
            strict.add_line_strict(&file, 7, line);
            assert_eq!(outcome(&fast), outcome(&strict), "{line}");
        }
        // The comparison means something only where the fast path took the line: the good
        // records, escapes, the `kind` fallbacks, an array for a struct, a map for an enum,
        // optional nulls, and records that parse but fail conversion.
        let mut want: Vec<usize> = (0..9).collect();
        want.extend([22, 23, 31, 37, 41, 42, 43, 44, 45, 46]);
        assert_eq!(taken, want);
    }

    #[test]
    fn errors_keep_file_order_across_chunks() {
        let bad = |i: usize| {
            CONTACT
                .replace("C1-T", &format!("C{i}0-T"))
                .replace(r#""cc":"DE""#, r#""cc":"D""#)
        };
        let mut lines = base();
        for i in 0..30 {
            lines.push(bad(i));
            if i == 10 {
                // A second registry record with an error of its own, between bad contacts.
                lines.push(
                    REGISTRY.replace(r#""updated":"2026-01-01T00:00:00Z""#, r#""updated":"x""#),
                );
            }
        }
        let e = errors(load(&lines));
        let at: Vec<(usize, &str)> = e.iter().map(|e| (e.line, e.field.as_str())).collect();
        let mut want: Vec<(usize, &str)> = (6..=16).map(|l| (l, "cc")).collect();
        want.extend([(17, "updated"), (17, "kind")]);
        want.extend((18..=36).map(|l| (l, "cc")));
        assert_eq!(at, want);
        assert!(e[12].message.contains("the first is at t.jsonl:1"), "{e:?}");

        // Past MAX_ERRORS, the first ones in file order are kept, across files.
        let many: Vec<String> = (0..150).map(bad).collect();
        let first = [REGISTRY.to_string(), many[..40].join("\n")].join("\n");
        let second = many[40..].join("\n");
        let e = load_texts(&[("a.jsonl", &first), ("b.jsonl", &second)]).expect_err("refused");
        assert_eq!(e.0.len(), MAX_ERRORS);
        assert!(e.0[..40]
            .iter()
            .enumerate()
            .all(|(i, e)| e.file == "a.jsonl" && e.line == i + 2));
        assert!(e.0[40..]
            .iter()
            .enumerate()
            .all(|(i, e)| e.file == "b.jsonl" && e.line == i + 1));
    }

    #[test]
    fn the_base_set_loads() {
        let snap = load(&base()).expect("loads");
        assert_eq!(snap.counts(), (1, 1, 1, 1));
    }

    #[test]
    fn a_utf8_bom_starts_a_file_but_nowhere_else() {
        let mut lines = base();
        lines[0] = format!("\u{FEFF}{}", lines[0]);
        assert!(load(&lines).is_ok());
        let mut lines = base();
        lines[2] = format!("\u{FEFF}{}", lines[2]);
        let e = errors(load(&lines));
        assert_eq!((e[0].line, e.len()), (3, 1), "{e:?}");
        assert!(e[0].message.contains("byte order mark"), "{e:?}");
        let mut loader = Loader::default();
        loader.add_reader("t.jsonl", &b"\xFF\xFE{\x00}\x00"[..]);
        let e = errors(loader.finish());
        assert!(e[0].message.contains("UTF-16"), "{e:?}");
    }

    #[test]
    fn an_overlong_line_is_an_error_and_reading_goes_on() {
        let mut lines = base();
        lines.insert(1, "x".repeat(MAX_LINE_BYTES + 1));
        lines.push("{".into());
        let e = errors(load(&lines));
        assert_eq!(e[0].line, 2);
        assert!(e[0].message.contains("longer than"), "{e:?}");
        assert_eq!(e[1].line, 7, "the line after it still counts: {e:?}");
        let mut reader = &b"abc\ndefgh\nij"[..];
        let mut buf = Vec::new();
        assert_eq!(
            read_bounded_line(&mut reader, &mut buf, 4).ok(),
            Some((false, false))
        );
        assert_eq!(buf, b"abc");
        assert_eq!(
            read_bounded_line(&mut reader, &mut buf, 4).ok(),
            Some((true, false))
        );
        assert!(buf.is_empty());
        assert_eq!(
            read_bounded_line(&mut reader, &mut buf, 4).ok(),
            Some((false, true))
        );
        assert_eq!(buf, b"ij");
    }

    #[test]
    fn duplicate_keys_are_named() {
        let dup = DOMAIN.replace(
            r#""statuses":["ok"]"#,
            r#""statuses":["ok"],"statuses":["clientHold"]"#,
        );
        let mut lines = base();
        lines[4] = dup;
        let e = errors(load(&lines));
        assert_eq!((e[0].line, e[0].field.as_str()), (5, "statuses"), "{e:?}");
        let nested = REGISTRAR.replace(
            r#"{"number":"+1.5555550100"}"#,
            r#"{"number":"+1.5555550100","number":"+1.5555550199"}"#,
        );
        let mut lines = base();
        lines[1] = nested;
        let e = errors(load(&lines));
        assert_eq!(e[0].field, "abusePhone.number", "{e:?}");
    }

    #[test]
    fn one_bad_contact_is_reported_once_not_per_domain() {
        let mut lines = base();
        lines[2] = CONTACT.replace(r#""cc":"DE""#, r#""cc":"Germany""#);
        for i in 2..6 {
            lines.push(DOMAIN.replace("D1-T", &format!("D{i}-T")).replace(
                "a.example\",\"statuses",
                &format!("a{i}.example\",\"statuses"),
            ));
        }
        let e = errors(load(&lines));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!((e[0].line, e[0].field.as_str()), (3, "cc"));
        // The same for a contact whose JSON types are wrong, a host and a registrar.
        let mut lines = base();
        lines[2] = CONTACT.replace(r#""city":"C""#, r#""city":["C"]"#);
        lines[3] = HOST.replace(r#""statuses":["ok"]"#, r#""statuses":["nope"]"#);
        let e = errors(load(&lines));
        assert_eq!(e.len(), 2, "{e:?}");
        let mut lines = base();
        lines[1] = REGISTRAR.replace(r#""cc":"US""#, r#""cc":"U""#);
        let e = errors(load(&lines));
        assert_eq!(e.len(), 1, "{e:?}");
    }

    #[test]
    fn realistic_data_is_accepted() {
        // RGP statuses beside ok (RFC 3915 keeps them apart from the EPP rules).
        assert!(with(&[&domain_with("statuses", r#"["ok","addPeriod"]"#)]).is_ok());
        // DS digest types 1 to 6 with their lengths.
        for (t, n) in [(1, 40), (2, 64), (3, 64), (4, 96), (5, 64), (6, 64)] {
            let ds = format!(
                r#"[{{"keyTag":1,"algorithm":13,"digestType":{t},"digest":"{}"}}]"#,
                "a".repeat(n)
            );
            assert!(with(&[&domain_with("ds", &ds)]).is_ok(), "type {t}");
        }
        // More than 13 nameservers.
        let mut lines = base();
        let mut names = Vec::new();
        for i in 0..20 {
            lines.push(format!(r#"{{"kind":"host","roid":"HX{i}-T","name":"ns{i}.dns.example.net","statuses":["ok"],"registrar":1001}}"#));
            names.push(format!("\"ns{i}.dns.example.net\""));
        }
        lines.push(domain_with(
            "nameservers",
            &format!("[{}]", names.join(",")),
        ));
        assert!(load(&lines).is_ok());
        // Kosovo.
        let mut lines = base();
        lines[2] = CONTACT.replace(r#""cc":"DE""#, r#""cc":"XK""#);
        assert!(load(&lines).is_ok());
        // An in-zone host without addresses that nothing delegates to.
        assert!(with(&[r#"{"kind":"host","roid":"H2-T","name":"ns2.a.example","statuses":["ok"],"registrar":1001}"#]).is_ok());
        // A second-level registry zone.
        let mut lines = base();
        lines[0] = REGISTRY.replace(r#"["example"]"#, r#"["example","co.example"]"#);
        lines.push(domain_with("name", r#""shop.co.example""#));
        assert!(load(&lines).is_ok());
    }

    #[test]
    fn unrealistic_data_is_refused() {
        let refused = |extra: &[&str], field: &str| {
            let r = with(extra);
            assert!(r.is_err(), "{field} {extra:?}");
            let e = errors(r);
            assert!(e.iter().any(|e| e.field == field), "{field}: {e:?}");
        };
        refused(
            &[&domain_with(
                "statuses",
                r#"["ok","addPeriod","clientHold"]"#,
            )],
            "statuses",
        );
        let ds = |t: u8| {
            format!(
                r#"[{{"keyTag":1,"algorithm":13,"digestType":{t},"digest":"{}"}}]"#,
                "a".repeat(64)
            )
        };
        refused(&[&domain_with("ds", &ds(0))], "ds[0].digestType");
        refused(&[&domain_with("ds", &ds(7))], "ds[0].digestType");
        refused(&[&domain_with("ds", &ds(4))], "ds[0].digest");
        refused(
            &[&domain_with("created", r#""0000-01-01T00:00:00Z""#)],
            "created",
        );
        refused(&[&domain_with("name", r#""💩.example""#)], "name");
        refused(&[&domain_with("name", r#""a.b.example""#)], "name");
        // A delegated in-zone host without glue, and a host under a domain that does not exist.
        refused(
            &[
                r#"{"kind":"host","roid":"H2-T","name":"ns2.a.example","statuses":["ok"],"registrar":1001}"#,
                &domain_with("nameservers", r#"["ns2.a.example"]"#),
            ],
            "addresses",
        );
        refused(
            &[
                r#"{"kind":"host","roid":"H2-T","name":"ns.nowhere.example","addresses":["192.0.2.9"],"statuses":["ok"],"registrar":1001}"#,
            ],
            "name",
        );
        let mut lines = base();
        lines[0] = REGISTRY.replace(r#"["example"]"#, r#"["example","EXAMPLE."]"#);
        let e = errors(load(&lines));
        assert_eq!(e[0].field, "tlds[1]", "{e:?}");
    }

    #[test]
    fn line_forging_characters_are_refused_in_every_text_field() {
        let evil = "x\u{2028}Registrant Email: evil@attacker.example";
        let json = serde_json::to_string(evil).expect("json");
        let cases: Vec<(usize, String, &str)> = vec![
            (
                2,
                CONTACT.replace(r#""name":"N""#, &format!(r#""name":{json}"#)),
                "name",
            ),
            (
                2,
                CONTACT.replace(r#""city":"C""#, &format!(r#""city":{json},"org":{json}"#)),
                "org",
            ),
            (
                2,
                CONTACT.replace(
                    r#""city":"C""#,
                    &format!(r#""city":"C","street":["1",{json}]"#),
                ),
                "street[1]",
            ),
            (
                2,
                CONTACT.replace(r#""city":"C""#, &format!(r#""city":"C","sp":{json}"#)),
                "sp",
            ),
            (
                2,
                CONTACT.replace(r#""city":"C""#, r#""city":"C","pc":"1\u202E2""#),
                "pc",
            ),
            (
                1,
                REGISTRAR.replace(r#""name":"R""#, &format!(r#""name":{json}"#)),
                "name",
            ),
            (
                1,
                REGISTRAR.replace(r#""city":"C""#, &format!(r#""city":{json}"#)),
                "address.city",
            ),
            (
                1,
                REGISTRAR.replace(
                    r#""abuseEmail":"abuse@r.example""#,
                    r#""abuseEmail":"abuse\u2029@r.example""#,
                ),
                "abuseEmail",
            ),
            (
                1,
                REGISTRAR.replace(
                    r#""name":"R""#,
                    r#""name":"R","url":"https://r.example/\u200F""#,
                ),
                "url",
            ),
            (
                3,
                HOST.replace("ns1.a.example", "ns1\u{202E}.a.example"),
                "name",
            ),
        ];
        for (i, line, field) in cases {
            let mut lines = base();
            lines[i] = line;
            let e = errors(load(&lines));
            assert!(e.iter().any(|e| e.field == field), "{field}: {e:?}");
            let shown = LoadErrors(e).to_string();
            assert!(!shown.contains("evil"), "no value in the message: {shown}");
        }
    }

    #[test]
    fn messages_carry_no_values_unless_asked() {
        let secret = "+81 3 1234 5678";
        let mut lines = base();
        lines[2] = CONTACT.replace(
            r#""city":"C""#,
            &format!(r#""city":"C","voice":{{"number":"{secret}"}},"street":"Secret Street 9","personType":"Secret Person""#),
        ).replace(r#","personType":"natural""#, "");
        lines.push(
            CONTACT
                .replace("C1-T", "C2-T")
                .replace(r#""cc":"DE""#, r#""cc":"Secret Land""#),
        );
        lines.push(
            CONTACT
                .replace("C1-T", "C3-T")
                .replace(r#""email":"n@n.example""#, r#""email":"Secret@@x""#),
        );
        lines.push(domain_with("created", r#""Secret date""#));
        lines.push(r#"{"kind":"Secret kind"}"#.into());
        let e = load(&lines).expect_err("refused");
        let plain = e.to_string();
        for needle in ["1234", "Secret"] {
            assert!(!plain.contains(needle), "{needle} leaked:\n{plain}");
        }
        assert!(plain.contains("t.jsonl:3: field `street`"), "{plain}");
        let shown = e.with_values().to_string();
        assert!(shown.contains("Secret Street 9"), "{shown}");
        assert!(shown.contains("Secret Land"), "{shown}");
    }

    #[test]
    fn serde_messages_lose_their_values() {
        assert_eq!(
            serde_message(r#"invalid type: string "+81 3, expected 5", expected a sequence"#),
            "invalid type: string, expected a sequence"
        );
        assert_eq!(
            serde_message("invalid value: integer `99999999999`, expected u32"),
            "invalid value: integer, expected u32"
        );
        assert_eq!(
            serde_message("unknown variant `Jane Doe`, expected `natural` or `legal`"),
            "unknown value, expected `natural` or `legal`"
        );
        assert_eq!(
            serde_message("unknown field `colour`, expected one of `kind`, `roid`"),
            "unknown field `colour`, expected one of `kind`, `roid`"
        );
        assert!(
            !serde_message("unknown field `Jane Doe, 1 Main St`, expected `kind`").contains("Jane")
        );
        assert_eq!(
            serde_message("missing field `roid`"),
            "missing field `roid`"
        );
        assert_eq!(serde_message("something new: \"Jane\""), "invalid value");
    }
}
