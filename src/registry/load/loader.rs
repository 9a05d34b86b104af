//! The loader: validated records and errors collected across files, then references resolved
//! (the second pass, [`super::crossref`]).

use super::*;

// ===== raw input records (the JSON Lines format) =====

/// Identities of refused records (ROIDs as lookup keys, names in A-label form).
#[derive(Default)]
pub(super) struct Failed {
    pub(super) roids: HashSet<String>,
    pub(super) registrars: HashSet<u32>,
    pub(super) hosts: HashSet<String>,
    pub(super) domains: HashSet<String>,
}

/// Where a record came from, for errors found in the second pass. The file name is shared by
/// all the records of a file.
#[derive(Clone)]
pub(super) struct Origin {
    pub(super) file: Arc<str>,
    pub(super) line: usize,
}

/// Collects validated records and errors across files, then resolves references.
#[derive(Default)]
pub(super) struct Loader {
    pub(super) errors: Vec<LoadError>,
    /// Identities of records refused in the first pass. A reference to one of them is not
    /// reported again: the record's own error is the cause, and repeating it once per referencing
    /// domain would bury it.
    pub(super) failed: Failed,
    pub(super) registry: Option<(Origin, Vec<String>, Timestamp)>,
    pub(super) registrars: Vec<(Origin, Registrar)>,
    pub(super) contacts: Vec<(Origin, Contact)>,
    pub(super) hosts: Vec<(Origin, Host)>,
    pub(super) domains: Vec<(Origin, Domain)>,
    /// Set in a worker's partial loader: registry records are not checked there but kept in
    /// `deferred` with the number of errors before them, for the merge (see [`Loader::absorb`]).
    pub(super) defer_registry: bool,
    pub(super) deferred: Vec<(usize, Origin, RawRegistry)>,
    /// Nameserver names parsed so far by this worker.
    pub(super) names: NameCache,
    /// Nameserver lists and status sets handed out (kept, like `names`, across chunks).
    pub(super) lists: ListCache,
    /// In the loader of a full load: the merged records, ready for the snapshot. (Workers and
    /// delta files keep theirs in the vectors above.)
    pub(super) kept: Option<Box<crossref::Kept>>,
    /// The threshold of records left out (the full load's loader; workers keep the default).
    pub(super) options: LoadOptions,
    /// Errors found, including those past [`MAX_ERRORS`] that were not kept: a record with
    /// an error is left out whether or not its error is kept.
    pub(super) error_total: usize,
    /// Errors that refuse the load whatever the threshold: the registry record's, an
    /// unreadable file.
    pub(super) fatal: usize,
    /// Values made safe, in file order (at most [`MAX_ERRORS`]; `defects` counts all).
    pub(super) warnings: Vec<LoadError>,
    /// Counts of records read, made safe, left out.
    pub(super) defects: Defects,
}

impl Loader {
    /// The loader of a full load, replacing `previous` if any.
    pub(super) fn full_load(previous: Option<&Snapshot>, options: LoadOptions) -> Self {
        Self {
            kept: Some(Box::new(crossref::Kept::over(previous))),
            options,
            ..Self::default()
        }
    }

    /// Field-error context for one line.
    pub(super) fn at<'a>(&'a mut self, origin: &'a Origin) -> Line<'a> {
        Line {
            loader: self,
            file: &origin.file,
            line: origin.line,
            made_safe: false,
        }
    }

    pub(super) fn error(&mut self, file: &str, line: usize, field: &str, message: String) {
        self.error_v(file, line, field, message, None);
    }

    pub(super) fn error_v(
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
            key: None,
        });
    }

    pub(super) fn push_error(&mut self, e: LoadError) {
        self.error_total += 1;
        if e.line == 0 {
            self.fatal += 1;
        }
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(e);
        }
    }

    /// A value made safe: reported (never with the value in the message), the record kept.
    pub(super) fn warn(&mut self, e: LoadError) {
        if self.warnings.len() < MAX_ERRORS {
            self.warnings.push(e);
        } else {
            self.defects.more_reports += 1;
        }
    }

    /// Whether enough errors were collected to stop reading: only where any record left out
    /// refuses the load (a threshold of 0), or an error refuses it whatever the threshold.
    pub(super) fn full(&self) -> bool {
        self.errors.len() >= MAX_ERRORS && (self.options.max_bad_percent <= 0.0 || self.fatal > 0)
    }

    /// Name the record `id` in the errors and warnings of its line from `errors` and
    /// `warnings` on (positions in the kept lists).
    pub(super) fn name_record(&mut self, errors: usize, warnings: usize, id: &Identity) {
        let key = id.key();
        for e in self.errors.iter_mut().skip(errors) {
            e.key.clone_from(&key);
        }
        for e in self.warnings.iter_mut().skip(warnings) {
            e.key.clone_from(&key);
        }
    }

    /// Read and check files in the order given, parsing on all cores. A source that could not
    /// be opened is an error of that file, in its place.
    pub(super) fn add_sources<R: BufRead>(
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
    pub(super) fn add_reader(&mut self, file: &str, reader: impl BufRead) {
        self.add_sources([(file.to_string(), Ok(reader))]);
    }

    /// Merge a worker's partial loader, the next in file order, leaving it empty (but for its
    /// name cache) for the next chunk.
    pub(super) fn absorb(&mut self, part: &mut Loader) {
        let failed = std::mem::take(&mut part.failed);
        let defects = std::mem::take(&mut part.defects);
        self.defects.absorb(&defects);
        self.fatal += std::mem::take(&mut part.fatal);
        for w in part.warnings.drain(..) {
            self.warn(w);
        }
        // Errors past the worker's own bound: counted, though not kept.
        self.error_total += part.error_total.saturating_sub(part.errors.len());
        part.error_total = 0;
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
    pub(super) fn registry_or_defer(&mut self, origin: Origin, raw: RawRegistry) {
        if self.defer_registry {
            self.deferred.push((self.errors.len(), origin, raw));
        } else {
            self.registry_line(origin, raw);
        }
    }

    /// One line as read, without its `\n`.
    pub(super) fn add_line_bytes(&mut self, file: &Arc<str>, line_no: usize, buf: &[u8]) {
        // A UTF-8 byte order mark is tolerated at the start of a file (some Windows tools
        // write one); anywhere else it is a concatenation accident and refused below.
        let bytes = if line_no == 1 {
            buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf)
        } else {
            buf
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => self.add_raw_line(file, line_no, text),
            Err(_) => {
                self.defects.records += 1;
                self.defects.left_out.add("");
                self.error(file, line_no, "", "the line is not valid UTF-8".into());
            }
        }
    }

    pub(super) fn add_raw_line(&mut self, file: &Arc<str>, line: usize, text: &str) {
        let trimmed = text.trim();
        // Blank lines are tolerated so hand-edited files stay forgiving; everything else is
        // exactly one JSON object.
        if trimmed.is_empty() {
            return;
        }
        self.defects.records += 1;
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
                    self.defects.left_out.add(kind);
                    return;
                }
            }
            self.defects.left_out.add("");
            return;
        }
        self.add_line(file, line, trimmed);
    }

    pub(super) fn add_line(&mut self, file: &Arc<str>, line: usize, text: &str) {
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
    pub(super) fn add_line_fast(&mut self, file: &Arc<str>, line: usize, text: &str) -> bool {
        let Some(kind) = fast_kind(text) else {
            return false;
        };
        let origin = || Origin {
            file: file.clone(),
            line,
        };
        let before = self.error_total;
        let (kept_before, warned_before) = (self.errors.len(), self.warnings.len());
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
        if self.error_total != before || self.warnings.len() != warned_before {
            // The record's identity as the strict path reads it, from the same text: without a
            // duplicate key, serde_json's own value tree is the one `StrictValue` builds.
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
                let id = Identity::of(&kind, &value);
                if self.error_total != before {
                    self.failed.record(&id);
                    self.left_out(&kind);
                }
                self.name_record(kept_before, warned_before, &id);
            } else if self.error_total != before {
                self.left_out(&kind);
            }
        }
        true
    }

    /// The strict path: the line as a value tree that refuses a duplicate key, then the raw
    /// record with the path of the first bad field. Slow, and run only for a line the fast path
    /// did not take, to name the problem.
    pub(super) fn add_line_strict(&mut self, file: &Arc<str>, line: usize, text: &str) {
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
                self.defects.left_out.add("");
                return;
            }
        };
        if !value.is_object() {
            self.error(file, line, "", "not a JSON object".into());
            self.defects.left_out.add("");
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
                self.defects.left_out.add("");
                return;
            }
        };
        let identity = Identity::of(&kind, &value);
        let origin = Origin {
            file: file.clone(),
            line,
        };
        let before = self.error_total;
        let (kept_before, warned_before) = (self.errors.len(), self.warnings.len());
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
                        self.left_out(&kind);
                        self.name_record(kept_before, warned_before, &identity);
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
        if self.error_total != before {
            self.failed.record(&identity);
            self.left_out(&kind);
        }
        self.name_record(kept_before, warned_before, &identity);
    }

    /// A record of `kind` left out in the first pass. The registry record cannot be left out:
    /// its errors refuse the load.
    fn left_out(&mut self, kind: &str) {
        if kind == "registry" {
            self.fatal += 1;
        } else {
            self.defects.left_out.add(kind);
        }
    }
}

impl Failed {
    pub(super) fn absorb(&mut self, other: Failed) {
        self.roids.extend(other.roids);
        self.registrars.extend(other.registrars);
        self.hosts.extend(other.hosts);
        self.domains.extend(other.domains);
    }

    pub(super) fn record(&mut self, id: &Identity) {
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
