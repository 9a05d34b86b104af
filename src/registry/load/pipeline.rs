//! The parallel first pass: files read in order and cut into chunks of whole lines, each
//! chunk parsed on a worker, the partial results merged back in chunk order.

use super::*;

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
pub(super) const CHUNK_BYTES: usize = if cfg!(test) { 300 } else { 4 * 1024 * 1024 };

/// Lines per chunk at most, so a file of blank lines still comes in bounded pieces.
pub(super) const CHUNK_LINES: usize = 64 * 1024;

/// Most chunks parsed at once.
pub(super) const MAX_WORKERS: usize = 8;

/// Read buffer of each data file.
pub(super) const READ_BUFFER_BYTES: usize = 256 * 1024;

/// Whole lines of one file, and the reader's own errors between them, in file order, with the
/// (empty) partial loader they are parsed into.
pub(super) struct Chunk {
    pub(super) file: Arc<str>,
    pub(super) text: Vec<u8>,
    pub(super) items: Vec<Item>,
    pub(super) part: Loader,
    /// In a full load: where the worker puts the chunk's records, each behind its `Arc` and
    /// shared with the previous generation where unchanged (compared on the worker, in
    /// parallel, not at the merge).
    pub(super) keep: Option<crossref::Kept>,
}

/// A parsed chunk: the partial loader to merge, and the buffers to reuse. Once merged, all of
/// it serves the next chunk: its emptied buffers and record vectors, so that chunks after the
/// first few neither grow a vector nor fault in fresh pages, and its nameserver cache.
#[derive(Default)]
pub(super) struct Spare {
    pub(super) text: Vec<u8>,
    pub(super) items: Vec<Item>,
    pub(super) part: Loader,
}

pub(super) enum Item {
    /// A line's bytes without its `\n`: `text[start..end]`.
    Line { no: usize, start: usize, end: usize },
    /// An error the reader found (overlong line, UTF-16 file, read error); `line` if it is
    /// one line's (a line too long), not the file's.
    Error {
        no: usize,
        message: String,
        line: bool,
    },
}

impl Chunk {
    pub(super) fn new(file: &Arc<str>, spare: Spare, keep: Option<crossref::Kept>) -> Self {
        Self {
            file: file.clone(),
            text: spare.text,
            items: spare.items,
            part: spare.part,
            keep,
        }
    }

    pub(super) fn error(&mut self, no: usize, message: String) {
        self.items.push(Item::Error {
            no,
            message,
            line: false,
        });
    }

    /// One line the reader could not take (too long): a record left out.
    pub(super) fn line_error(&mut self, no: usize, message: String) {
        self.items.push(Item::Error {
            no,
            message,
            line: true,
        });
    }

    /// Parse and convert every line into the partial loader.
    pub(super) fn parse(self) -> Spare {
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
                Item::Error {
                    no,
                    message,
                    line: true,
                } => {
                    // A line that could not be read counts as a record left out.
                    part.defects.records += 1;
                    part.defects.left_out.add("");
                    part.error(&file, no, "", message);
                }
                Item::Error { no, message, .. } => {
                    // The file cannot be read: the load is refused whatever the threshold.
                    part.fatal += 1;
                    part.error(&file, no, "", message);
                }
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

/// Nameserver lists and status sets one worker has handed out: a domain with the same list as
/// an earlier one shares its allocation. A real registry has a few thousand DNS providers'
/// nameserver pairs and a few dozen status sets across millions of domains; at ten million
/// domains the shared lists save most of a gigabyte.
#[derive(Default)]
pub(super) struct ListCache {
    nameservers: ListSet<DomainName>,
    statuses: ListSet<DomainStatus>,
}

/// foldhash, as the snapshot's maps: the lists are registry data, and SipHash would be a
/// visible part of a large load.
type ListSet<T> = std::collections::HashSet<Arc<[T]>, foldhash::fast::RandomState>;

impl ListCache {
    /// Distinct lists kept at most per kind; past it a list is its own allocation.
    pub(super) const MAX: usize = 100_000;

    pub(super) fn nameservers(&mut self, list: Vec<DomainName>) -> Arc<[DomainName]> {
        Self::share(&mut self.nameservers, list)
    }

    pub(super) fn statuses(&mut self, list: Vec<DomainStatus>) -> Arc<[DomainStatus]> {
        Self::share(&mut self.statuses, list)
    }

    fn share<T: std::hash::Hash + Eq>(set: &mut ListSet<T>, list: Vec<T>) -> Arc<[T]> {
        if let Some(shared) = set.get(list.as_slice()) {
            return Arc::clone(shared);
        }
        let list: Arc<[T]> = list.into();
        if set.len() < Self::MAX {
            set.insert(Arc::clone(&list));
        }
        list
    }
}

/// Nameserver names already parsed by one worker, by their text in the file.
#[derive(Default)]
pub(super) struct NameCache(HashMap<Box<str>, DomainName>);

impl NameCache {
    /// Far more than the distinct nameservers of a real registry; past it names are parsed each
    /// time, so a file of a million distinct names cannot grow the cache without bound.
    pub(super) const MAX: usize = 100_000;

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
pub(super) struct Pipeline<'scope, 'env> {
    pub(super) scope: &'scope std::thread::Scope<'scope, 'env>,
    pub(super) in_flight: VecDeque<InFlight<'scope>>,
    pub(super) limit: usize,
    pub(super) spares: Vec<Spare>,
    /// In a full load, the empty record set each chunk's worker fills.
    pub(super) keep: Option<crossref::Kept>,
}

pub(super) enum InFlight<'scope> {
    /// `None` only if the chunk never reached the thread, which `submit` rules out.
    Running(std::thread::ScopedJoinHandle<'scope, Option<Spare>>),
    /// Parsed on the reading thread because no thread could be started.
    Done(Box<Spare>),
}

impl<'scope> Pipeline<'scope, '_> {
    /// Hand a chunk to a new thread, first merging the oldest chunk if enough are in flight.
    pub(super) fn submit(&mut self, loader: &mut Loader, chunk: Chunk) {
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
    pub(super) fn chunk(&mut self, file: &Arc<str>) -> Chunk {
        let keep = self.keep.as_ref().map(crossref::Kept::for_worker);
        Chunk::new(file, self.spares.pop().unwrap_or_default(), keep)
    }

    /// Merge the oldest chunk in flight, waiting for it if need be.
    pub(super) fn merge_oldest(&mut self, loader: &mut Loader) {
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

    pub(super) fn drain(&mut self, loader: &mut Loader) {
        while !self.in_flight.is_empty() {
            self.merge_oldest(loader);
        }
    }

    /// Cut one file into chunks of whole lines, never buffering more than [`MAX_LINE_BYTES`] of
    /// a line. Stops early once enough errors are collected.
    pub(super) fn read_file(
        &mut self,
        loader: &mut Loader,
        file: &Arc<str>,
        mut reader: impl BufRead,
    ) {
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
                chunk.line_error(line_no, format!("line longer than {MAX_LINE_BYTES} bytes"));
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

/// Read one line (without its `\n`) into `buf`, keeping at most `max` bytes. Returns
/// `(overlong, eof)`: `overlong` when the line was longer than `max` (its bytes are consumed and
/// dropped, `buf` is left empty), `eof` when the input ended.
#[cfg(test)]
pub(super) fn read_bounded_line(
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
pub(super) fn append_bounded_line(
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
